"""What a delivery carries: the event's public fields, never the debtor's personal data.

The body is built from the stored state (JSON), not from a decoded event: personal fields are
dropped by name at every depth — the debtor object, contact details, and free text that
people type and that may name a person (notes, reasons, message text). What stays are ids,
references, codes, amounts, dates and times. ``external_ref`` comes from the case's
placement, the one reference banks key on.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import msgspec

from ledger.eventstore import StoredEventRow

CASE_TOPIC_PREFIX = "ledger.domain.case:Case."
EVENT_ID_NAMESPACE = UUID("6f0e7a8e-7a4b-5b8c-9d51-1e3c2b1d0a14")
PERSONAL_OR_FREE_TEXT = frozenset({
    "debtor", "name", "phones", "phone", "emails", "email", "address", "to", "from", "from_",
    "text", "note", "notes", "body", "subject", "summary", "detail", "reason", "redress",
    "content", "source",  # a queued message's sealed content; where an opt-out came from
})
INTERNAL = frozenset({"originator_topic"})
"""The event framework's own bookkeeping (a created aggregate's class path), as in the feed."""
KEEP_REASON = frozenset({"Closed"})
"""Events whose ``reason`` is a fixed code (paid, settled, …), not free text."""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def event_type(topic: str) -> str:
    return topic.rsplit(".", 1)[-1]


def is_case_event(topic: str) -> bool:
    return topic.startswith(CASE_TOPIC_PREFIX)


def event_id(case_id: UUID, version: int) -> UUID:
    """A stable id of one event (the same for every endpoint)."""
    return uuid5(EVENT_ID_NAMESPACE, f"{case_id}/{version}")


def delivery_id(endpoint_id: UUID, case_id: UUID, version: int) -> UUID:
    """A stable id of one event's delivery to one endpoint (``webhook-id`` is ``msg_`` + hex)."""
    return uuid5(endpoint_id, f"{case_id}/{version}")


def webhook_id(delivery: UUID) -> str:
    return "msg_" + delivery.hex


def scrub(value: Any, keep_reason: bool = False) -> Any:
    """``value`` without personal or free-text fields, at every depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()
                if k not in PERSONAL_OR_FREE_TEXT or (keep_reason and k == "reason")}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def public_data(row: StoredEventRow) -> tuple[str | None, dict[str, Any]]:
    """(occurred_at, data) of a stored case event, scrubbed."""
    state = _decode(row.state)
    occurred_at = state.pop("timestamp", None)
    for name in INTERNAL:
        state.pop(name, None)
    kind = event_type(row.topic)
    return occurred_at, scrub(state, keep_reason=kind in KEEP_REASON)


def build_body(row: StoredEventRow, external_ref: str | None) -> bytes:
    """The JSON body delivered for ``row`` (API.md: id, type, case_id, external_ref, position,
    cursor, occurred_at, recorded_at, data; plus the case ``version``, for ordering)."""
    occurred_at, data = public_data(row)
    return _encode({
        "id": str(event_id(row.originator_id, row.originator_version)),
        "type": event_type(row.topic),
        "case_id": str(row.originator_id),
        "external_ref": external_ref,
        "version": row.originator_version,
        "position": row.notification_id,
        "cursor": str(row.cursor),
        "occurred_at": occurred_at,
        "recorded_at": row.recorded_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    })


EXTERNAL_REFS_SQL = """
    SELECT originator_id, state FROM stored_events
    WHERE originator_id = ANY($1::uuid[]) AND originator_version = 1
"""


def external_ref_of(placed_state: bytes) -> str | None:
    ref = _decode(placed_state).get("external_ref")
    return ref if isinstance(ref, str) else None
