"""The load phase of ``ledger rebuild``: one reader, one writer per projection, in parallel.

The reader pages through the feed and decodes each page once; every projection gets the
page on its own connection and transaction (advancing its own ``<name>__rebuild``
position), so PostgreSQL works on one projection's writes while Python folds the next page
for another. Queues are short, so memory stays flat however long the feed is.

When the feed is drained each writer flushes what its projection deferred (``bulk``), builds
its tables' indexes and gathers their statistics, in parallel with the other writers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg

from ledger.eventstore import EventCodec, StoredEventRow
from ledger.eventstore.feed import FEED_SQL
from ledger.projections.framework import Envelope, Projection, decode_rows
from ledger.projections.positions import Position
from ledger.projections.runner import apply_batch, reset

log = logging.getLogger("ledger.projections")
QUEUE_PAGES = 2
"""Pages a writer may lag behind the reader (memory bound: this × writers × page size)."""


async def read_page(conn: asyncpg.Connection, after: Position,
                    limit: int) -> list[StoredEventRow]:
    records = await conn.fetch(FEED_SQL, after.cursor.transaction_id,
                               after.cursor.notification_id, limit, None)
    return [StoredEventRow(*r) for r in records]


async def _write(pool: asyncpg.Pool, search_path: str, projection: Projection,
                 position_name: str, tables: Sequence[str], indexes: Sequence[str],
                 pages: asyncio.Queue[list[Envelope] | None]) -> Position:
    position = Position.START
    async with pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {search_path}")
        try:
            reset(projection)
            if hasattr(projection, "bulk"):
                projection.bulk = True  # type: ignore[attr-defined]
            while (batch := await pages.get()) is not None:
                position = await apply_batch(conn, [projection], [position_name], position,
                                             batch)
            loaded = time.monotonic()
            flush = getattr(projection, "flush", None)
            if flush is not None:
                async with conn.transaction():
                    await flush(conn)
            if hasattr(projection, "bulk"):
                projection.bulk = False  # type: ignore[attr-defined]
            flushed = time.monotonic()
            for definition in indexes:
                await conn.execute(definition)
            for table in tables:  # fresh tables have no statistics until autovacuum runs
                await conn.execute(f"ANALYZE {table}")
            log.info("rebuild %s: flushed in %.1f s, indexed and analyzed in %.1f s",
                     projection.name, flushed - loaded, time.monotonic() - flushed)
        finally:
            await conn.execute("RESET search_path")
    return position


async def load(pool: asyncpg.Pool, conn: asyncpg.Connection, search_path: str,
               work: Sequence[tuple[Projection, str, Sequence[str], Sequence[str]]],
               batch_size: int, codec: EventCodec,
               report: Callable[[int], None] | None = None) -> Position:
    """Apply the feed to every (projection, position name, its tables, index DDL) of
    ``work`` from the start; returns where they all stand (the same position)."""
    queues: list[asyncio.Queue[list[Envelope] | None]] = [
        asyncio.Queue(QUEUE_PAGES) for _ in work]

    async def read() -> Position:
        position = Position.START
        while rows := await read_page(conn, position, batch_size):
            batch = decode_rows(codec, rows, position.events_applied)
            for queue in queues:
                await queue.put(batch)
            position = position.advanced(rows[-1].cursor, len(rows))
            if report is not None:
                report(position.events_applied)
            if len(rows) < batch_size:
                break  # near the head: the swap applies the rest
        for queue in queues:
            await queue.put(None)
        return position

    async with asyncio.TaskGroup() as group:  # one failure cancels the rest
        reader = group.create_task(read())
        writers = [group.create_task(_write(pool, search_path, projection, name, tables,
                                            indexes, queue))
                   for (projection, name, tables, indexes), queue in zip(work, queues,
                                                                          strict=True)]
    position = reader.result()
    if any(w.result() != position for w in writers):
        raise RuntimeError("rebuild writers ended at different positions")
    return position
