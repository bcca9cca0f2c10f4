"""How long finished deliveries are kept: ``LEDGER_WEBHOOK_RETENTION_DAYS`` after they ended.

Every event of a subscribed type becomes a delivery row (with its payload) per endpoint, and
every try an attempt row: a busy tenant adds millions a month. The owner of a shard removes
that shard's deliveries that were delivered or cancelled longer ago than the retention, with
their attempts, a batch at a time (short transactions, no long locks on the queue's table).
Pending deliveries are never removed, however old: they are still owed to the endpoint.
Nothing else needs the rows: a fan-out only re-reads events past its position, far newer.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger("ledger.webhooks")
PRUNE_INTERVAL = 600.0
"""Seconds between passes of a shard's owner."""
PRUNE_BATCH = 5_000
# $1 shard, $2 retention in days, $3 batch size. Returns the number of deliveries removed.
PRUNE_SQL = """
    WITH finished AS (
        SELECT delivery_id FROM webhook_deliveries
        WHERE shard = $1 AND status IN ('delivered', 'cancelled')
          AND coalesce(delivered_at, last_attempt_at, created_at)
              < now() - make_interval(days => $2)
        LIMIT $3
    ), attempts AS (
        DELETE FROM webhook_attempts a USING finished f WHERE a.delivery_id = f.delivery_id
    ), removed AS (
        DELETE FROM webhook_deliveries d USING finished f WHERE d.delivery_id = f.delivery_id
        RETURNING 1
    )
    SELECT count(*) FROM removed
"""


async def prune_finished(pool: asyncpg.Pool, shard: int, days: int,
                         batch: int = PRUNE_BATCH) -> int:
    """Remove the shard's deliveries that finished more than ``days`` days ago; returns how many."""
    removed = 0
    while True:
        count = await pool.fetchval(PRUNE_SQL, shard, days, batch)
        removed += count
        if count < batch:
            return removed


async def prune_forever(pool: asyncpg.Pool, shard: int, days: int) -> None:
    """Prune now and every ``PRUNE_INTERVAL`` (run by the shard's owner, under its task group:
    a database error restarts the shard's work like any of its tasks' errors)."""
    while True:
        removed = await prune_finished(pool, shard, days)
        if removed:
            log.info("webhook shard %d: %d finished deliveries older than %d days removed",
                     shard, removed, days)
        await asyncio.sleep(PRUNE_INTERVAL)
