"""Projection positions and lag.

A position is the feed cursor after the last applied event, ``events_applied`` (the number
of feed events applied so far, the projection's offset in the gap-free feed order) and
``top``, the highest ``position`` (notification id) among them: what the API reports as
``as_of_position``, on the scale of ``Ledger-Position`` and the feed's ``position``, so
"``as_of_position`` ≥ the position of my write" holds once the write is applied (the feed is
ordered by transaction, so the last event applied need not hold the highest id). The
position only moves by compare-and-set inside the batch transaction, so two writers (a
dying owner and its successor, or a rebuild swapping tables in) can never both apply the
same batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

import asyncpg
import msgspec

from ledger.eventstore import Cursor

ENSURE_SQL = "INSERT INTO projection_positions (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
GET_SQL = """
    SELECT transaction_id, notification_id, events_applied, max_position FROM projection_positions
    WHERE name = $1
"""
ADVANCE_SQL = """
    UPDATE projection_positions
    SET transaction_id = $4::xid8, notification_id = $5, events_applied = $6,
        last_event_recorded_at = $7, max_position = $8, updated_at = now()
    WHERE name = $1 AND transaction_id = $2::xid8 AND notification_id = $3
"""
SET_SQL = """
    INSERT INTO projection_positions (name, transaction_id, notification_id, events_applied,
                                      last_event_recorded_at, max_position)
    VALUES ($1, $2::xid8, $3, $4, $5, $6)
    ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,
        notification_id = EXCLUDED.notification_id, events_applied = EXCLUDED.events_applied,
        last_event_recorded_at = EXCLUDED.last_event_recorded_at,
        max_position = EXCLUDED.max_position, updated_at = now()
"""
DELETE_SQL = "DELETE FROM projection_positions WHERE name = $1"
AS_OF_SQL = "SELECT max_position FROM projection_positions WHERE name = $1"
# Positions behind are counted up to a cap: counting a million rows on every probe would cost
# more than the answer is worth ("at least 1,000,000 behind" says enough).
LAG_CAP = 1_000_000
# Every committed event after the position counts, also one the feed still hides behind an
# older open transaction: it is not applied yet, and a client waiting for "caught up" after
# its own write must not be told so before the projection can even read that write.
_AFTER = "(e.transaction_id, e.notification_id) > (p.transaction_id, p.notification_id)"
LAG_SQL = f"""
    SELECT n.name, coalesce(p.events_applied, 0),
        (SELECT count(*) FROM (SELECT 1 FROM stored_events e WHERE {_AFTER} LIMIT $2) behind),
        extract(epoch FROM now() - (
            SELECT e.recorded_at FROM stored_events e WHERE {_AFTER}
            ORDER BY e.transaction_id, e.notification_id LIMIT 1))
    FROM unnest($1::text[]) AS n(name)
    LEFT JOIN projection_positions p0 ON p0.name = n.name
    CROSS JOIN LATERAL (SELECT coalesce(p0.transaction_id, '0'::xid8) AS transaction_id,
                               coalesce(p0.notification_id, 0) AS notification_id,
                               p0.events_applied) p
"""


class Position(msgspec.Struct, frozen=True):
    """Where a projection stands: the cursor after its last event, how many it applied and
    the highest position (notification id) among them."""

    cursor: Cursor
    events_applied: int
    top: int = 0

    START: ClassVar[Position]

    def advanced(self, last_cursor: Cursor, count: int, top: int) -> Position:
        """After ``count`` more events, the last at ``last_cursor``, the highest at ``top``."""
        return Position(last_cursor, self.events_applied + count, max(self.top, top))


Position.START = Position(Cursor.START, 0)


class PositionMoved(Exception):
    """Another writer moved the position since it was read: reload and carry on from there."""


class Lag(msgspec.Struct, frozen=True):
    """How far a projection is behind the head of the feed."""

    name: str
    events_applied: int
    positions_behind: int
    """Committed feed events not yet applied (counted up to ``LAG_CAP``), also those the
    feed still hides behind an older open transaction."""
    seconds_behind: float
    """Now minus the record time of the oldest unapplied event; 0 when caught up."""


async def load(executor: asyncpg.Connection | asyncpg.Pool, name: str) -> Position:
    """The stored position (created at the start of the feed if missing)."""
    await executor.execute(ENSURE_SQL, name)
    row = await executor.fetchrow(GET_SQL, name)
    return Position(Cursor(row[0], row[1]), row[2], row[3])


async def advance(conn: asyncpg.Connection, name: str, old: Position, new: Position,
                  last_recorded_at: datetime | None) -> None:
    """Move ``name`` from ``old`` to ``new`` in the caller's transaction or raise ``PositionMoved``."""
    status = await conn.execute(
        ADVANCE_SQL, name, old.cursor.transaction_id, old.cursor.notification_id,
        new.cursor.transaction_id, new.cursor.notification_id, new.events_applied,
        last_recorded_at, new.top)
    if status != "UPDATE 1":
        raise PositionMoved(name)


async def store(conn: asyncpg.Connection, name: str, position: Position,
                last_recorded_at: datetime | None = None) -> None:
    """Set ``name`` to ``position`` unconditionally (rebuild swap and reset)."""
    await conn.execute(SET_SQL, name, position.cursor.transaction_id,
                       position.cursor.notification_id, position.events_applied,
                       last_recorded_at, position.top)


async def as_of_position(executor: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    """``as_of_position`` of a projection: the highest feed position among the events it
    applied (0 before its first batch)."""
    value = await executor.fetchval(AS_OF_SQL, name)
    return int(value or 0)


async def lags(executor: asyncpg.Connection | asyncpg.Pool, names: Sequence[str]) -> list[Lag]:
    """Lag of each named projection."""
    rows = await executor.fetch(LAG_SQL, list(names), LAG_CAP)
    return [Lag(r[0], r[1], r[2], round(float(r[3] or 0.0), 3)) for r in rows]
