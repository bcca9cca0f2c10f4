"""The quarantine table: items a worker gave up on, and counts of items it had to skip."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg
import msgspec

Executor = asyncpg.Connection | asyncpg.Pool

INSERT_SQL = """
    INSERT INTO worker_quarantine (worker, item, tenant_id, reason, attempts)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (worker, item) DO UPDATE
        SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, tenant_id = EXCLUDED.tenant_id,
            quarantined_at = now(), released_at = NULL
        WHERE worker_quarantine.released_at IS NOT NULL
    RETURNING true
"""
HELD_SQL = "SELECT item FROM worker_quarantine WHERE worker = $1 AND released_at IS NULL"
LIST_SQL = """
    SELECT worker, item, tenant_id, reason, attempts, quarantined_at FROM worker_quarantine
    WHERE released_at IS NULL AND ($1::text IS NULL OR worker = $1)
    ORDER BY worker, quarantined_at, item LIMIT $2
"""
COUNT_SQL = """
    SELECT worker, count(*) FROM worker_quarantine WHERE released_at IS NULL GROUP BY worker
"""
RELEASE_SQL = """
    UPDATE worker_quarantine SET released_at = now()
    WHERE worker = $1 AND item = $2 AND released_at IS NULL
"""
SKIP_SQL = """
    INSERT INTO worker_skips (worker, reason, skipped, last_item) VALUES ($1, $2, $3, $4)
    ON CONFLICT (worker, reason) DO UPDATE
        SET skipped = worker_skips.skipped + EXCLUDED.skipped, last_item = EXCLUDED.last_item,
            last_at = now()
"""
SKIPS_SQL = "SELECT worker, reason, skipped, last_item, last_at FROM worker_skips ORDER BY 1, 2"


class Quarantined(msgspec.Struct, frozen=True):
    """An item a worker set aside after it kept failing."""

    worker: str
    item: str
    tenant_id: str | None
    reason: str
    attempts: int
    quarantined_at: datetime


class Skipped(msgspec.Struct, frozen=True):
    """How many items a worker skipped for one reason (e.g. an event of an unknown case)."""

    worker: str
    reason: str
    skipped: int
    last_item: str | None
    last_at: datetime


async def quarantine(executor: Executor, worker: str, item: str, *, reason: str,
                     attempts: int, tenant_id: str | None = None) -> bool:
    """Set ``item`` aside; True when it was not held already (so the caller logs it once)."""
    return bool(await executor.fetchval(INSERT_SQL, worker, item, tenant_id, reason, attempts))


async def held_items(executor: Executor, worker: str) -> set[str]:
    """Ids of the items ``worker`` must not try (quarantined and not released)."""
    return {row[0] for row in await executor.fetch(HELD_SQL, worker)}


async def list_quarantine(executor: Executor, worker: str | None = None,
                          limit: int = 1000) -> list[Quarantined]:
    rows = await executor.fetch(LIST_SQL, worker, limit)
    return [Quarantined(*row) for row in rows]


async def count_held(executor: Executor) -> dict[str, int]:
    """Quarantined items per worker."""
    return {row[0]: int(row[1]) for row in await executor.fetch(COUNT_SQL)}


async def release(executor: Executor, worker: str, item: str) -> bool:
    """Let ``worker`` try ``item`` again; False when it was not held."""
    return await executor.execute(RELEASE_SQL, worker, item) == "UPDATE 1"


async def record_skip(executor: Executor, worker: str, reason: str, items: Iterable[str]) -> int:
    """Count skipped ``items`` (in the caller's transaction, so a rolled-back batch counts none)."""
    found = list(items)
    if found:
        await executor.execute(SKIP_SQL, worker, reason, len(found), found[-1])
    return len(found)


async def list_skips(executor: Executor) -> list[Skipped]:
    return [Skipped(*row) for row in await executor.fetch(SKIPS_SQL)]
