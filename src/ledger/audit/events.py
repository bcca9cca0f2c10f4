"""Decoding stored rows for auditors: personal data opened with the case key, or shown erased.

History, the feed and exports render event data the same way: the stored state decoded by the
codec, with the debtor of a ``Placed`` event shaped like the case view's debtor (personal
fields null and ``"erased": true`` once the key is destroyed) — never the ciphertext.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventCodec, StoredEventRow
from ledger.eventstore.codec import StreamCipher

TOPICS: dict[str, str] = {
    name: get_topic(value)
    for name, value in vars(Case).items()
    if isinstance(value, type) and issubclass(value, Aggregate.Event)
}
TYPES = {topic: name for name, topic in TOPICS.items()}
_HIDDEN = ("originator_id", "originator_version", "timestamp", "originator_topic")


def is_case_event(topic: str) -> bool:
    """Whether a stored event's topic is one of a case's (not a policy's, a template's, …)."""
    return topic in TYPES


def event_type(topic: str) -> str:
    """The short event type of a topic (``Placed``, ``PaymentReceived``, …)."""
    return TYPES.get(topic, topic.rsplit(".", 1)[-1])


async def open_rows(codec: EventCodec, cipher: StreamCipher | None,
                    rows: Sequence[StoredEventRow]) -> list[Any]:
    """The domain events of ``rows``, sealed states opened with one batched key look-up."""
    keys: Any = {}
    if cipher is not None:
        ids = {row.originator_id for row in rows if row.topic in cipher.topics}
        keys = await cipher.keys(ids) if ids else {}
    events = []
    for row in rows:
        state = row.state
        if cipher is not None and row.topic in cipher.topics:
            state = cipher.open(row.originator_id, row.tenant_id, row.topic, state,
                                keys.get(row.originator_id))
        events.append(codec.decode(row.originator_id, row.originator_version, row.topic, state))
    return events


def debtor_data(debtor: Debtor | None, timezone: str, jurisdiction: str) -> dict[str, Any]:
    """The debtor as the case view shows it."""
    if debtor is None or debtor.erased:
        return {"name": None, "phones": None, "emails": None, "address": None,
                "timezone": timezone, "jurisdiction": jurisdiction, "erased": True}
    return {"name": debtor.name, "phones": list(debtor.phones), "emails": list(debtor.emails),
            "address": debtor.address, "timezone": debtor.timezone,
            "jurisdiction": debtor.jurisdiction, "erased": False}


def event_data(event: Any) -> dict[str, Any]:
    """The fact's own fields as JSON values (no identity or time fields: those are columns)."""
    data: dict[str, Any] = msgspec.to_builtins(
        {k: v for k, v in vars(event).items() if k not in _HIDDEN and k != "debtor"})
    if isinstance(event, Case.Placed):
        data["debtor"] = debtor_data(event.debtor, event.timezone, event.jurisdiction)
    return data
