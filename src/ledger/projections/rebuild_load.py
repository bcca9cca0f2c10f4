"""The load phase of ``ledger rebuild``: one reader, one writer per projection, in parallel.

The reader pages through the feed and decodes each page once; every projection gets the
page on its own connection and transaction (advancing its own ``<name>__rebuild``
position), so PostgreSQL works on one projection's writes while Python folds the next page
for another. Queues are short, so memory stays flat however long the feed is.

When the feed is drained each writer flushes what its projection deferred (``bulk``), then
builds its tables' indexes and runs its projection's ``finishing`` statements (independent
``INSERT … SELECT``s over the loaded tables), each on a connection of its own as far as the
pool has spare ones (index builds are CPU-bound sorts: one connection is one core), and
gathers the tables' statistics.

A projection with ``derive_ahead`` (audit: rows derived by PostgreSQL from the log) loads
itself up to the head of the feed as it stood at the start, on a spare connection and
without waiting for the reader, then builds its keys and indexes and gathers its statistics
there: its pages only add what came after that head, and nothing is left for it to do once
the feed is drained, when the cases tables' indexes and rollups keep both cores busy.

The reader asks for the next page before decoding the one it has, and the loading
connections commit without waiting for the WAL flush (``NO_FLUSH_WAIT_SQL``): the Python
process, which bounds the load, waits less on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ledger.eventstore import EventCodec, StoredEventRow
from ledger.eventstore.feed import FEED_SQL, HEAD_SQL
from ledger.eventstore.records import Cursor
from ledger.projections.framework import Envelope, Projection, decode_rows
from ledger.projections.positions import Position
from ledger.projections.runner import apply_batch, reset

log = logging.getLogger("ledger.projections")
QUEUE_PAGES = 2
"""Pages a writer may lag behind the reader (memory bound: this × writers × page size)."""
FINISH_MEMORY_SQL = "SET maintenance_work_mem = '256MB'"
"""Index builds sort in memory rather than in temporary files (per building connection; the
pool resets it when the connection is released)."""
NO_FLUSH_WAIT_SQL = "SET synchronous_commit = off"
"""For the loading connections: a page's commit does not wait for its WAL to reach the disk.
Nothing is read from the rebuild tables before the swap, whose own commit (synchronous, on
the reader's connection) flushes all WAL written before it; a crash before that loses at
most whole pages with their positions, and the next rebuild starts again from zero anyway.
(The pool resets it when the connection is released.)"""


async def read_page(conn: asyncpg.Connection, after: Cursor,
                    limit: int) -> list[StoredEventRow]:
    records = await conn.fetch(FEED_SQL, after.transaction_id, after.notification_id, limit,
                               None)
    return [StoredEventRow(*r) for r in records]


Work = tuple[Projection, str, Sequence[str], Sequence[str]]
"""A projection, its rebuild position name, its (qualified) tables and their index DDL."""


def _set_bulk(lane: Sequence[Work], bulk: bool) -> None:
    for projection, *_ in lane:
        if hasattr(projection, "bulk"):
            projection.bulk = bulk  # type: ignore[attr-defined]


async def _finish(pool: asyncpg.Pool, conn: asyncpg.Connection, search_path: str,
                  statements: Sequence[str], spare: asyncio.Semaphore) -> None:
    """Run ``statements`` (independent of each other) on ``conn`` and, concurrently, on as
    many spare pool connections as ``spare`` grants (with ``conn``'s search path)."""
    todo = collections.deque(statements)

    async def drain(connection: asyncpg.Connection) -> None:
        await connection.execute(f"SET search_path TO {search_path}")
        await connection.execute(FINISH_MEMORY_SQL)
        while todo:
            await connection.execute(todo.popleft())

    working: set[int] = set()

    async def helper(index: int) -> None:
        async with spare:
            working.add(index)
            if todo:
                async with pool.acquire() as extra:
                    await drain(extra)

    helpers = [asyncio.create_task(helper(i)) for i in range(len(statements) - 1)]
    try:
        await drain(conn)
    finally:  # helpers still waiting for a spare connection have nothing left to do
        for index, task in enumerate(helpers):
            if index not in working:
                task.cancel()
        outcomes = await asyncio.gather(*helpers, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome


async def _write(pool: asyncpg.Pool, search_path: str, lane: Sequence[Work],
                 pages: asyncio.Queue[list[Envelope] | None],
                 spare: asyncio.Semaphore, indexed_ahead: set[str]) -> Position:
    """Apply every page to the projections of ``lane`` (one transaction per page)."""
    position = Position.START
    projections = [work[0] for work in lane]
    names = [work[1] for work in lane]
    async with pool.acquire() as conn:
        await conn.execute(f"SET search_path TO {search_path}")
        await conn.execute(NO_FLUSH_WAIT_SQL)
        try:
            for projection in projections:
                reset(projection)
            _set_bulk(lane, True)
            while (batch := await pages.get()) is not None:
                position = await apply_batch(conn, projections, names, position, batch)
            for projection, _, tables, indexes in lane:
                loaded = time.monotonic()
                flush = getattr(projection, "flush", None)
                if flush is not None:
                    async with conn.transaction():
                        await flush(conn)
                flushed = time.monotonic()
                finishing = getattr(projection, "finishing", ())
                ahead = projection.name in indexed_ahead
                await _finish(pool, conn, search_path,
                              [*(() if ahead else indexes), *finishing], spare)
                if not ahead:  # fresh tables have no statistics until autovacuum runs
                    # Each table on a connection of its own too: the cases tables are the
                    # last work of the rebuild, with a core to spare by then.
                    await _finish(pool, conn, search_path, [f"ANALYZE {t}" for t in tables],
                                  spare)
                log.info("rebuild %s: flushed in %.1f s, indexed and analyzed in %.1f s",
                         projection.name, flushed - loaded, time.monotonic() - flushed)
            _set_bulk(lane, False)
        finally:
            await conn.execute("RESET search_path; RESET synchronous_commit")
    return position


async def load(pool: asyncpg.Pool, conn: asyncpg.Connection, search_path: str,
               work: Sequence[Work], batch_size: int, codec: EventCodec,
               report: Callable[[int], None] | None = None) -> Position:
    """Apply the feed to every projection of ``work`` from the start; returns where they
    all stand (the same position). ``conn`` (the reader's) comes from ``pool`` too: with
    fewer spare connections than projections, projections share a writer."""
    writers = max(1, min(len(work), pool.get_max_size() - 1))
    lanes = [list(work[i::writers]) for i in range(writers)]
    queues: list[asyncio.Queue[list[Envelope] | None]] = [
        asyncio.Queue(QUEUE_PAGES) for _ in lanes]
    # Connections nobody holds during the load (the reader and each writer hold one).
    spare = asyncio.Semaphore(max(0, pool.get_max_size() - 1 - writers))

    async def read() -> Position:
        position = Position.START
        fetching = asyncio.ensure_future(read_page(conn, position.cursor, batch_size))
        try:
            while rows := await fetching:
                if len(rows) == batch_size:
                    # PostgreSQL reads the next page while this one is decoded and handed
                    # over (one more page in memory), rather than Python waiting for it.
                    fetching = asyncio.ensure_future(read_page(conn, rows[-1].cursor,
                                                               batch_size))
                batch = decode_rows(codec, rows, position.events_applied)
                after = position.advanced(rows[-1].cursor, len(rows), batch.top)
                for queue in queues:
                    await queue.put(batch)
                position = after
                if report is not None:
                    report(position.events_applied)
                if len(rows) < batch_size:
                    break  # near the head: the swap applies the rest
        finally:  # a failure elsewhere: leave the reader's connection idle
            if not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
        for queue in queues:
            await queue.put(None)
        return position

    head = await conn.fetchrow(HEAD_SQL)
    indexed_ahead: set[str] = set()

    async def run_ahead(projection: Any, cursor: Cursor, tables: Sequence[str],
                        indexes: Sequence[str]) -> None:
        try:
            async with pool.acquire() as ahead_conn:
                await ahead_conn.execute(f"SET search_path TO {search_path}")
                await ahead_conn.execute(NO_FLUSH_WAIT_SQL)
                await projection.derive_ahead(ahead_conn, cursor)
                # Indexed and analyzed now, while the others still load: the rows pages
                # add after the head go into the indexes as they come, and are too few to
                # change the statistics.
                await ahead_conn.execute(FINISH_MEMORY_SQL)
                for definition in indexes:
                    await ahead_conn.execute(definition)
                for table in tables:
                    await ahead_conn.execute(f"ANALYZE {table}")
                indexed_ahead.add(projection.name)
        finally:
            spare.release()

    async with asyncio.TaskGroup() as group:  # one failure cancels the rest
        for projection, _, tables, indexes in work:
            # A projection that can load itself from the log (audit, in SQL) does so on a
            # spare connection up to the present head, not paced by the reader.
            if head is not None and hasattr(projection, "derive_ahead") and not spare.locked():
                await spare.acquire()
                cursor = Cursor(head[0], head[1])
                projection.ahead = cursor  # type: ignore[attr-defined]
                projection.ahead_task = group.create_task(  # type: ignore[attr-defined]
                    run_ahead(projection, cursor, tables, indexes))
        reader = group.create_task(read())
        tasks = [group.create_task(_write(pool, search_path, lane, queue, spare, indexed_ahead))
                 for lane, queue in zip(lanes, queues, strict=True)]
    position = reader.result()
    if any(task.result() != position for task in tasks):
        raise RuntimeError("rebuild writers ended at different positions")
    return position
