"""What a projection is: a name, the rm_ tables it owns, and a batch handler.

A handler receives a batch of ``Envelope``s (feed order) and a connection inside the
runner's transaction; it writes its rows there, and the runner commits them together with
the new position, so a batch takes effect exactly once or not at all.

Optional members, looked up with ``getattr``: ``reset()`` drops state cached across batches
(the runner calls it whenever the position is (re)loaded), ``bulk`` (bool) lets a rebuild
defer writes, ``async flush(conn)`` writes whatever was deferred, ``finishing`` (SQL
statements, independent of each other) completes the tables after a rebuild's ``flush``, and
``keys_after_load`` (bool: its bulk writes only append) lets a rebuild add the tables' primary
and unique keys after the load, with the indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import asyncpg

from ledger.eventstore import EventCodec, StoredEventRow

CASE_TOPIC_PREFIX = "ledger.domain.case:Case."


class Envelope(NamedTuple):
    """One event of the feed with its stored row and its 1-based offset in feed order."""

    row: StoredEventRow
    seq: int
    type: str
    """Short event type: ``Placed``, ``PaymentReceived``, …"""
    event: Any
    """The decoded domain event (None for events of other streams than cases)."""


class Projection(Protocol):
    """A read model kept by the runner."""

    name: str
    tables: tuple[str, ...]
    """The rm_ tables it owns (rebuilt and swapped together)."""

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        """Write the effect of ``batch`` on ``conn`` (already inside a transaction)."""
        ...


_TYPES: dict[str, str] = {}


def event_type(topic: str) -> str:
    """``ledger.domain.case:Case.PaymentReceived`` → ``PaymentReceived``."""
    found = _TYPES.get(topic)
    if found is None:
        found = _TYPES[topic] = topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    return found


class Batch(list[Envelope]):
    """A page of envelopes in feed order, with ``top``: the highest ``position`` (notification
    id) in it (feed order is by transaction, so not always the last one's)."""

    __slots__ = ("top",)

    def __init__(self) -> None:
        super().__init__()
        self.top = 0


def top_of(batch: Sequence[Envelope]) -> int:
    """The highest position in ``batch`` (worked out once by ``decode_rows``)."""
    top = getattr(batch, "top", None)
    return top if top is not None else max(e.row.notification_id for e in batch)


def decode_rows(codec: EventCodec, rows: Sequence[StoredEventRow],
                applied_before: int) -> Batch:
    """Envelopes for ``rows``, numbered after the ``applied_before`` events already applied.

    Only case events are decoded: the feed may carry other streams' events (another
    application's, or a newer release's) that no read model here understands, and those must
    neither stop the projections nor be guessed at. They keep their place in the numbering,
    with ``event`` None.
    """
    decode_row = codec.decode_row
    topics = _TOPICS
    envelopes = Batch()
    append = envelopes.append
    top = 0
    # ``Envelope(...)`` goes through a Python-level ``__new__``; the tuple's own is a third of
    # the cost (a million calls a rebuild).
    make = tuple.__new__
    seq = applied_before
    for row in rows:  # a loop over the whole feed: per-topic facts looked up once
        seq += 1
        topic = row.topic
        known = topics.get(topic)
        if known is None:
            known = topics[topic] = (event_type(topic), topic.startswith(CASE_TOPIC_PREFIX))
        append(make(Envelope, (row, seq, known[0], decode_row(row) if known[1] else None)))
        if row.notification_id > top:
            top = row.notification_id
    envelopes.top = top
    return envelopes


_TOPICS: dict[str, tuple[str, bool]] = {}
"""Per topic: its short event type and whether it is a case event."""


def is_case_event(envelope: Envelope) -> bool:
    return envelope.row.topic.startswith(CASE_TOPIC_PREFIX)
