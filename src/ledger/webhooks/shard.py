"""One owned delivery shard: fan-out, sending, results, health and pruning (see ``deliverer``).

Rebuilt from the database on every takeover: the endpoints from their streams, the pending
deliveries (in feed order) into per-(endpoint, case) queues, the endpoints' failure clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from ledger.domain.webhooks.rules import failing_too_long, retry_delay
from ledger.eventstore import ConcurrencyConflict
from ledger.eventstore.notify import FOLLOW_GAP, Wakeup
from ledger.projections import positions
from ledger.webhooks import store as sql
from ledger.webhooks.client import Outcome, WebhookClient
from ledger.webhooks.fanout import EndpointRegistry, fan_out
from ledger.webhooks.metrics import observe_attempt, observe_disabled
from ledger.webhooks.queues import Delivery, Key, ShardQueues
from ledger.webhooks.retention import prune_forever
from ledger.webhooks.signing import signature_headers

if TYPE_CHECKING:
    from ledger.webhooks.deliverer import Deliverer

log = logging.getLogger("ledger.webhooks")
RETRY_AFTER_ERROR_SECONDS = 1.0
FLUSH_INTERVAL = 0.02
HEALTH_INTERVAL = 30.0
REQUEUE_POLL_SECONDS = 0.5
ACTOR = "webhook-deliverer"
Result = tuple[UUID, int, str, Outcome, datetime, "datetime | None"]
"""(delivery_id, attempt, status after it, outcome, attempted at, next attempt at)"""


def shard_name(shard: int, shards: int) -> str:
    return f"webhooks:{shard}/{shards}"


class ShardWorker:
    """Everything one owned shard does; rebuilt from the database on every takeover."""

    def __init__(self, deliverer: Deliverer, shard: int) -> None:
        self.d = deliverer
        self.shard = shard
        self.name = shard_name(shard, deliverer.shards)
        self.registry = EndpointRegistry(deliverer.repository)
        self.queues = ShardQueues()
        self.client = WebhookClient(deliverer.allow_hosts, timeout=deliverer.timeout)
        self.results: list[Result] = []
        self.failing_since: dict[UUID, datetime | None] = {}
        self.health_dirty: dict[UUID, tuple[str, datetime | None, datetime | None]] = {}
        self.wakeup = asyncio.Event()
        self.slots = asyncio.Semaphore(deliverer.max_in_flight)
        self.refs: dict[UUID, str | None] = {}

    async def run(self) -> None:
        while True:
            try:
                await self._load()
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._fan_out_forever())
                    group.create_task(self._send_forever())
                    group.create_task(self._flush_forever())
                    group.create_task(self._health_forever())
                    group.create_task(self._requeued_forever())
                    group.create_task(prune_forever(self.d.pool, self.shard,
                                                    self.d.retention_days))
            except* (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as errors:
                log.warning("webhook shard %s: %s; restarting", self.name,
                            type(errors.exceptions[0]).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await self._flush()
                await self.client.close()
            await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)
            self.queues = ShardQueues()

    async def _load(self) -> None:
        await self.registry.load(self.d.pool)
        self.failing_since = {r[0]: r[1] for r in await self.d.pool.fetch(sql.LOAD_HEALTH_SQL)}
        now = time.monotonic()
        wall = datetime.now(UTC)
        for r in await self.d.pool.fetch(sql.PENDING_SQL, self.shard):
            delivery = Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[7])
            due = now + max(0.0, (r[6] - wall).total_seconds())
            self.queues.add(delivery, due)

    # ---- fan-out -----------------------------------------------------------------------

    async def _fan_out_forever(self) -> None:
        d = self.d
        position = await positions.load(d.pool, self.name)
        async with d.pool.acquire() as conn:
            await conn.execute(sql.RELAXED_COMMIT_SQL)  # reset when it goes back to the pool
            await self._fan_out_with(conn, position)

    async def _fan_out_with(self, conn: asyncpg.Connection, position: positions.Position) -> None:
        d = self.d
        while True:
            generation = d.store.wakeup.current()
            read_at = time.monotonic()
            rows = await d.store.read_all(position.cursor, d.batch_size)
            if rows:
                try:
                    position, deliveries, touched = await fan_out(
                        conn, self.name, position, rows, self.registry, self.shard,
                        d.shards, self.refs)
                except positions.PositionMoved:
                    position = await positions.load(d.pool, self.name)
                    continue
                now = time.monotonic()
                for delivery in deliveries:
                    self.queues.add(delivery, now)
                for endpoint_id in touched:
                    self._endpoint_changed(endpoint_id, now)
                if deliveries or touched:
                    self.wakeup.set()
            if len(rows) < d.batch_size:
                await Wakeup.wait(generation, d.poll_interval, not_before=read_at + FOLLOW_GAP)

    def _endpoint_changed(self, endpoint_id: UUID, now: float) -> None:
        endpoint = self.registry.endpoints.get(endpoint_id)
        if endpoint is None:
            self.queues.drop_endpoint(endpoint_id)
        elif endpoint.enabled:
            self.queues.unpark(endpoint_id, now)

    # ---- sending -----------------------------------------------------------------------

    async def _send_forever(self) -> None:
        async with asyncio.TaskGroup() as sends:
            while True:
                now = time.monotonic()
                key = self.queues.pop_due(now)
                if key is None:
                    due = self.queues.next_due()
                    wait = 1.0 if due is None else min(1.0, max(0.0, due - now))
                    self.wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wakeup.wait(), wait)
                    continue
                endpoint = self.registry.endpoints.get(key[0])
                if endpoint is None:
                    self.queues.drop_endpoint(key[0])
                    self.queues.in_flight.discard(key)
                    continue
                if not endpoint.enabled:
                    self.queues.park(key)
                    continue
                await self.slots.acquire()
                sends.create_task(self._send(key))

    async def _send(self, key: Key) -> None:
        try:
            delivery = self.queues.head(key)
            endpoint = self.registry.endpoints.get(key[0])
            if endpoint is None:
                self.queues.in_flight.discard(key)
                self.queues.drop_endpoint(key[0])
                return
            try:
                if delivery.body is None:
                    delivery.body = await self.d.pool.fetchval(sql.BODY_SQL, delivery.delivery_id)
                body: bytes = delivery.body or b"{}"
                wall = datetime.now(UTC)
                secrets = await self.d.vault.get(self.d.pool, endpoint.signing_secret_ids(wall))
                headers = signature_headers(delivery.webhook_id, body, list(secrets.values()),
                                            at=wall)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.queues.retry(key, time.monotonic() + RETRY_AFTER_ERROR_SECONDS)
                raise
            except Exception as error:  # a poison item: retried with backoff, the rest go on
                log.error("webhook %s could not be prepared: %s", delivery.webhook_id,
                          type(error).__name__)
                outcome = Outcome(None, f"internal error: {type(error).__name__}", 0.0)
            else:
                outcome = await self.client.post(endpoint.url, body, headers)
            self._settle(key, delivery, endpoint.tenant_id, outcome)
            if outcome.status == 410:
                await self._disable(key[0], "gone")
        finally:
            self.slots.release()

    def _settle(self, key: Key, delivery: Delivery, tenant_id: str, outcome: Outcome) -> None:
        wall = datetime.now(UTC)
        now = time.monotonic()
        delivery.attempts += 1
        observe_attempt(key[0], outcome, (wall - delivery.recorded_at).total_seconds())
        if outcome.delivered:
            self.queues.done(key, now)
            self.results.append((delivery.delivery_id, delivery.attempts, "delivered", outcome,
                                 wall, None))
            self.failing_since[key[0]] = None
            self.health_dirty[key[0]] = (tenant_id, None, wall)
            return
        wait = retry_delay(delivery.attempts, random.random(), scale=self.d.backoff_scale)
        self.queues.retry(key, now + wait.total_seconds())
        delivery.body = delivery.body if len(self.queues.queues[key]) <= 2 else None
        self.results.append((delivery.delivery_id, delivery.attempts, "pending", outcome, wall,
                             wall + wait))
        since = self.failing_since.get(key[0]) or wall
        self.failing_since[key[0]] = since
        self.health_dirty[key[0]] = (tenant_id, since, None)

    async def _disable(self, endpoint_id: UUID, reason: str) -> None:
        for _ in range(3):
            endpoint = await self.registry.refresh(endpoint_id)
            if endpoint is None or not endpoint.enabled:
                return
            endpoint.disable(reason, datetime.now(UTC))
            try:
                await self.d.repository.save(endpoint, tenant_id=endpoint.tenant_id, actor=ACTOR)
            except ConcurrencyConflict:
                continue
            observe_disabled(reason)
            log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
            return

    # ---- results and health --------------------------------------------------------------

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            await self._flush()

    async def _flush(self) -> None:
        results, self.results = self.results, []
        health, self.health_dirty = self.health_dirty, {}
        if not results and not health:
            return
        try:
            async with self.d.pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit = off")
                if results:
                    await conn.execute(sql.RECORD_RESULTS_SQL, *_result_columns(results))
                    await conn.execute(sql.RECORD_ATTEMPTS_SQL, *_attempt_columns(results))
                if health:
                    ids = list(health)
                    await conn.execute(sql.HEALTH_SQL, ids, [health[i][0] for i in ids],
                                       [health[i][1] for i in ids],
                                       [health[i][2] for i in ids],
                                       [None if health[i][2] else datetime.now(UTC) for i in ids])
        except BaseException:
            self.results = results + self.results  # written next time (or resent after a crash)
            for key, value in health.items():
                self.health_dirty.setdefault(key, value)
            raise

    async def _requeued_forever(self) -> None:
        """Redeliveries asked through the API (possibly in another process)."""
        while True:
            await asyncio.sleep(REQUEUE_POLL_SECONDS)
            now = time.monotonic()
            for r in await self.d.pool.fetch(sql.TAKE_REQUEUED_SQL, self.shard):
                key = (r[2], r[3])
                if any(q.delivery_id == r[0] for q in self.queues.queues.get(key, ())):
                    continue  # still queued: it goes out anyway
                self.queues.add(Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[7]), now)
                self.wakeup.set()

    async def _health_forever(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL)
            now = datetime.now(UTC)
            for endpoint_id, since in list(self.failing_since.items()):
                if failing_too_long(since, now) and endpoint_id in self.registry.endpoints:
                    await self._disable(endpoint_id, "failing")


def _result_columns(results: list[Result]) -> list[list[object]]:
    last = list({r[0]: r for r in results}.values())  # a delivery's latest outcome wins
    return [[r[0] for r in last], [r[2] for r in last], [r[1] for r in last],
            [r[4] for r in last], [r[3].status for r in last], [r[3].error for r in last],
            [r[5] for r in last]]


def _attempt_columns(results: list[Result]) -> list[list[object]]:
    return [[r[0] for r in results], [r[1] for r in results], [r[4] for r in results],
            [r[3].status for r in results], [r[3].error for r in results],
            [int(r[3].seconds * 1000) for r in results]]
