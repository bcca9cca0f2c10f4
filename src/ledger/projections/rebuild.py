"""``ledger rebuild``: replay the feed from zero into fresh tables, then swap them in.

1. Per projection, a schema ``rebuild_<name>`` gets empty copies of its tables (columns,
   defaults, checks and primary keys; secondary indexes come after the load, which is
   several times faster than maintaining them row by row, and so do the keys of a projection
   that only appends, ``keys_after_load``). They are ordinary LOGGED tables:
   loading them UNLOGGED and setting them LOGGED before the swap measured no faster here
   (the rewrite costs what the WAL during the load did, and the load is bound by Python).
2. ``rebuild_load``: the feed is read and decoded once and every projection applies it on
   its own connection, whose ``search_path`` puts those schemas first, so the projections'
   ordinary statements write there, batch by batch, with the position ``<name>__rebuild``
   moved in the same transaction. Then each projection's tables are indexed and analyzed.
   The live tables keep serving (and the live runner keeps them current) meanwhile.
3. One transaction locks the live positions (the live runner's next batch waits, then finds
   its position moved and reloads), applies the last events, moves the live tables out and
   the new ones in (``ALTER TABLE … SET SCHEMA`` keeps every index name), sets the live
   positions, and drops the old tables.

Interrupting at any point before the swap commits leaves the live tables as they were; the
next rebuild drops the leftovers. Identifiers formatted into SQL are our own constants.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import asyncpg
import msgspec

from ledger.eventstore import EventCodec
from ledger.projections import positions
from ledger.projections.framework import Projection, decode_rows
from ledger.projections.positions import Position
from ledger.projections.rebuild_load import load, read_page
from ledger.projections.runner import apply_batch, lock_key, reset

CONSTRAINTS_SQL = """
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname
"""
INDEXES_SQL = """
    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
    WHERE i.indrelid = $1::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    ORDER BY i.indexrelid
"""
COUNT_SQL = "SELECT count(*) FROM stored_events"
SWAP_ATTEMPTS = 3
"""Tries of the swap's transaction when PostgreSQL aborts it to break a deadlock (with a
reader holding one of the tables and asking for another, say): the loaded tables are kept,
so a retry costs only the swap."""
log = logging.getLogger("ledger.projections")


def pool_size(projections: int, pool_max_size: int) -> int:
    """Connections for a rebuild of ``projections`` projections: a reader and a writer each
    at least, and up to ``pool_max_size`` (``LEDGER_POOL_MAX_SIZE``) so that the spare ones
    derive audit rows ahead and build indexes side by side (``rebuild_load``); with none
    spare, that work waits for the load and runs one statement at a time."""
    return max(projections + 1, pool_max_size)


class RebuildBusy(RuntimeError):
    """Another process is rebuilding one of these projections."""


class Progress(msgspec.Struct, frozen=True):
    """How a rebuild is getting on."""

    applied: int
    total: int
    events_per_second: float
    eta_seconds: float | None


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def rebuild_schema(name: str) -> str:
    return f"rebuild_{name}"


def rebuild_position_name(name: str) -> str:
    return f"{name}__rebuild"


async def _prepare(conn: asyncpg.Connection, live: str, projection: Projection) -> list[str]:
    """Fresh empty tables in the rebuild schema; returns the DDL to run after loading (indexes,
    and keys too with ``keys_after_load``)."""
    schema = quote(rebuild_schema(projection.name))
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.execute(f"CREATE SCHEMA {schema}")
    later = []
    # A projection that only appends during the load (no ON CONFLICT, no lookups by key)
    # gets its keys after it, first among its indexes: one sort instead of a btree kept up
    # row by row (rm_audit: ~1.5 s of PostgreSQL CPU per million rows). Duplicates would
    # still fail the rebuild, when the key is added.
    keys_later = getattr(projection, "keys_after_load", False)
    for table in projection.tables:
        source = f"{quote(live)}.{quote(table)}"
        target = f"{schema}.{quote(table)}"
        await conn.execute(f"CREATE TABLE {target} (LIKE {source} INCLUDING DEFAULTS "
                           "INCLUDING CONSTRAINTS INCLUDING STORAGE)")
        for constraint, definition in await conn.fetch(CONSTRAINTS_SQL, source):
            statement = f"ALTER TABLE {target} ADD CONSTRAINT {quote(constraint)} {definition}"
            if keys_later:
                later.append(statement)
            else:
                await conn.execute(statement)
        for (definition,) in await conn.fetch(INDEXES_SQL, source):
            later.append(definition.replace(f" ON {source} ", f" ON {target} ", 1)
                         .replace(f" ON {live}.{table} ", f" ON {target} ", 1))
    await positions.store(conn, rebuild_position_name(projection.name), Position.START)
    return later


async def _catch_up(conn: asyncpg.Connection, projections: Sequence[Projection],
                    position: Position, batch_size: int, codec: EventCodec,
                    report: Callable[[int], None] | None = None) -> Position:
    names = [rebuild_position_name(p.name) for p in projections]
    while rows := await read_page(conn, position.cursor, batch_size):
        batch = decode_rows(codec, rows, position.events_applied)
        position = await apply_batch(conn, projections, names, position, batch)
        if report is not None:
            report(position.events_applied)
        if len(rows) < batch_size:
            break
    return position


async def _swap(conn: asyncpg.Connection, live: str, projections: Sequence[Projection],
                position: Position, batch_size: int, codec: EventCodec) -> Position:
    async with conn.transaction():
        for projection in projections:
            await positions.load(conn, projection.name)
        await conn.execute("SELECT 1 FROM projection_positions WHERE name = ANY($1) FOR UPDATE",
                           [p.name for p in projections])
        # With the live positions locked nobody else advances; apply what came in meanwhile.
        while True:
            before = position.events_applied
            position = await _catch_up(conn, projections, position, batch_size, codec)
            if position.events_applied == before:
                break
        for projection in projections:
            retired = quote(f"retired_{projection.name}")
            await conn.execute(f"DROP SCHEMA IF EXISTS {retired} CASCADE")
            await conn.execute(f"CREATE SCHEMA {retired}")
            for table in projection.tables:
                await conn.execute(f"ALTER TABLE {quote(live)}.{quote(table)} SET SCHEMA {retired}")
                await conn.execute(f"ALTER TABLE {quote(rebuild_schema(projection.name))}."
                                   f"{quote(table)} SET SCHEMA {quote(live)}")
            # The reporting views (migration 0140) follow the new tables, with their row
            # security and grants, before the retired tables (and anything on them) are dropped.
            await conn.execute("SELECT reporting_install()")
            await conn.execute(f"DROP SCHEMA {retired} CASCADE")
            await conn.execute(f"DROP SCHEMA {quote(rebuild_schema(projection.name))} CASCADE")
            await positions.store(conn, projection.name, position)
            await conn.execute(positions.DELETE_SQL, rebuild_position_name(projection.name))
    return position


async def _swap_retrying(conn: asyncpg.Connection, live: str,
                         projections: Sequence[Projection], position: Position,
                         batch_size: int, codec: EventCodec) -> Position:
    for attempt in range(1, SWAP_ATTEMPTS):
        try:
            return await _swap(conn, live, projections, position, batch_size, codec)
        except asyncpg.DeadlockDetectedError:
            log.warning("rebuild: the swap was chosen to break a deadlock; trying again "
                        "(%d of %d)", attempt + 1, SWAP_ATTEMPTS)
            # What the rolled-back transaction applied is gone from the tables: forget it.
            for projection in projections:
                reset(projection)
    return await _swap(conn, live, projections, position, batch_size, codec)


async def rebuild(pool: asyncpg.Pool, projections: Sequence[Projection], *,
                  batch_size: int = 5000,
                  on_progress: Callable[[Progress], None] | None = None,
                  progress_every: float = 1.0) -> Position:
    """Rebuild ``projections`` from position zero and swap them in; returns their position."""
    codec = EventCodec()
    async with pool.acquire() as conn:
        for projection in projections:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)",
                                       lock_key("rebuild:" + projection.name)):
                raise RebuildBusy(f"projection {projection.name} is being rebuilt elsewhere")
        live = await conn.fetchval("SELECT current_schema()")
        indexes = {p.name: await _prepare(conn, live, p) for p in projections}
        path = ", ".join([*(quote(rebuild_schema(p.name)) for p in projections), quote(live)])
        await conn.execute(f"SET search_path TO {path}")
        total = int(await conn.fetchval(COUNT_SQL))
        started = last_report = time.monotonic()

        def report(applied: int) -> None:
            nonlocal last_report
            now = time.monotonic()
            if on_progress is None or now - last_report < progress_every:
                return
            last_report = now
            rate = applied / max(now - started, 1e-9)
            eta = max(total - applied, 0) / rate if rate > 0 else None
            on_progress(Progress(applied, total, round(rate, 1), eta))

        work = [(p, rebuild_position_name(p.name),
                 [f"{quote(rebuild_schema(p.name))}.{quote(t)}" for t in p.tables],
                 indexes[p.name]) for p in projections]
        position = await load(pool, conn, path, work, batch_size, codec, report)
        log.info("rebuild: %d events loaded and indexed in %.1f s", position.events_applied,
                 time.monotonic() - started)
        position = await _swap_retrying(conn, live, projections, position, batch_size, codec)
        if on_progress is not None:
            elapsed = max(time.monotonic() - started, 1e-9)
            on_progress(Progress(position.events_applied, position.events_applied,
                                 round(position.events_applied / elapsed, 1), 0.0))
    return position
