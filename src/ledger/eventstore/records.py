"""Plain typed records exchanged with the event store: new events, stored rows, cursors, idempotency."""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from ledger.eventstore.errors import InvalidCursor

_CURSOR_LAYOUT = struct.Struct(">QQ")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NewEvent(msgspec.Struct, frozen=True, gc=False):
    """An encoded event ready to append (what the codec produces from a domain event)."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class Cursor(msgspec.Struct, frozen=True, order=True, gc=False):
    """Position in the global feed: the pair (transaction_id, notification_id).

    The string form is opaque to HTTP callers: 22 characters of unpadded base64url over two
    unsigned 64-bit big-endian integers. ``Cursor.START`` precedes every event.
    """

    transaction_id: int
    notification_id: int

    START: ClassVar[Cursor]

    def __str__(self) -> str:
        raw = _CURSOR_LAYOUT.pack(self.transaction_id, self.notification_id)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Parse the string form; anything else raises ``InvalidCursor``."""
        if not isinstance(text, str) or len(text) != 22:
            raise InvalidCursor("cursor must be a 22-character string from a previous response")
        try:
            raw = base64.urlsafe_b64decode(text + "==")
            transaction_id, notification_id = _CURSOR_LAYOUT.unpack(raw)
        except (binascii.Error, ValueError, struct.error) as error:
            raise InvalidCursor("cursor is not one this server produced") from error
        if str(cls(transaction_id, notification_id)) != text:
            raise InvalidCursor("cursor is not one this server produced")
        return cls(transaction_id, notification_id)


Cursor.START = Cursor(0, 0)


class StoredEventRow(msgspec.Struct, frozen=True, gc=False):
    """One row of ``stored_events``, every column."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    notification_id: int
    transaction_id: int
    recorded_at: datetime
    tenant_id: str
    actor: str | None
    correlation_id: UUID | None
    causation_id: UUID | None
    chain_hash: bytes

    @property
    def cursor(self) -> Cursor:
        """The feed position just after this row."""
        return Cursor(self.transaction_id, self.notification_id)


def rows_with_epoch_us(records: Iterable[Sequence[Any]]) -> list[StoredEventRow]:
    """Rows from records in ``StoredEventRow`` order whose ``recorded_at`` is an int8 of
    microseconds since the Unix epoch (the feed selects it so).

    asyncpg turns a ``timestamptz`` into a datetime at ~0.4 µs a row, a third of the cost of
    the whole row; an int8 costs next to nothing, and the events of one append transaction
    share one ``recorded_at``, so a datetime is made once per run of equal values.
    """
    rows: list[StoredEventRow] = []
    append = rows.append
    row = StoredEventRow
    epoch, delta = _EPOCH, timedelta
    last_us: int | None = None
    recorded_at = _EPOCH
    for (originator_id, originator_version, topic, state, notification_id, transaction_id,
         recorded_us, tenant_id, actor, correlation_id, causation_id, chain_hash) in records:
        if recorded_us != last_us:
            last_us, recorded_at = recorded_us, epoch + delta(0, 0, recorded_us)
        append(row(originator_id, originator_version, topic, state, notification_id,
                   transaction_id, recorded_at, tenant_id, actor, correlation_id, causation_id,
                   chain_hash))
    return rows


class IdempotencyRecord(msgspec.Struct, frozen=True, gc=False):
    """The first response to a request with an ``Idempotency-Key``, kept to replay it."""

    key: str
    request_hash: bytes
    status: int
    response: bytes


class StoredIdempotencyRecord(msgspec.Struct, frozen=True, gc=False):
    """An ``idempotency_keys`` row."""

    tenant_id: str
    key: str
    request_hash: bytes
    status: int
    response: bytes
    created_at: datetime
