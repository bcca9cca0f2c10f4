"""Finished webhook deliveries are removed with their attempts once older than the retention;
pending ones stay however old, and so do recent ones."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from ledger.webhooks.retention import prune_finished

INSERT_DELIVERY = """
    INSERT INTO webhook_deliveries (delivery_id, webhook_id, endpoint_id, tenant_id, shard,
        case_id, case_version, seq, event_type, payload, status, recorded_at, created_at,
        last_attempt_at, delivered_at)
    VALUES ($1, $2, $3, 't-retention', $4, $5, 1, 1, 'PaymentReceived', '\\x7b7d', $6, $7, $7,
            $8, $9)
"""
INSERT_ATTEMPT = """
    INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, duration_ms)
    VALUES ($1, 1, $2, 200, 5)
"""


async def _delivery(pool: asyncpg.Pool, shard: int, status: str, ended: datetime,
                    delivered: bool) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    await pool.execute(INSERT_DELIVERY, delivery_id, f"msg_{delivery_id.hex}", uuid.uuid4(), shard,
                       uuid.uuid4(), status, ended - timedelta(minutes=5), ended,
                       ended if delivered else None)
    await pool.execute(INSERT_ATTEMPT, delivery_id, ended)
    return delivery_id


async def test_only_deliveries_finished_before_the_retention_are_removed_with_their_attempts(
        pool: asyncpg.Pool) -> None:
    shard = random.randrange(10_000, 1_000_000)  # a shard of its own: other tests' rows stay
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    removed = [await _delivery(pool, shard, "delivered", old, True) for _ in range(5)]
    removed.append(await _delivery(pool, shard, "cancelled", old, False))
    kept = [await _delivery(pool, shard, "delivered", recent, True),
            await _delivery(pool, shard, "pending", old - timedelta(days=300), False),
            await _delivery(pool, shard, "cancelled", recent, False)]
    elsewhere = await _delivery(pool, shard + 1, "delivered", old, True)

    assert await prune_finished(pool, shard, 30, batch=2) == len(removed)  # several batches

    left = {r[0] for r in await pool.fetch(
        "SELECT delivery_id FROM webhook_deliveries WHERE shard = ANY($1)", [shard, shard + 1])}
    assert left == {*kept, elsewhere}
    attempts = {r[0] for r in await pool.fetch(
        "SELECT delivery_id FROM webhook_attempts WHERE delivery_id = ANY($1)",
        [*removed, *kept, elsewhere])}
    assert attempts == {*kept, elsewhere}
    assert await prune_finished(pool, shard, 30) == 0
