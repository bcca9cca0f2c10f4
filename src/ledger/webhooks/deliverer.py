"""The webhook deliverer: shards owned by advisory lock, fan-out, sending, results.

Ownership works like the projection runner's: one connection held for the deliverer's life
takes ``pg_try_advisory_lock`` per shard (``LEDGER_WEBHOOK_SHARDS``, cases split by id), and
retries the shards it does not own every ``takeover_interval`` seconds, so when an owner dies
another process takes over within seconds. A shard's owner runs four tasks: fan-out (feed →
delivery rows, with the position), the sender (due queue heads → POST, bounded concurrency),
the result writer (attempts and outcomes, batched every few milliseconds) and the health
check (3 days failing disables). A crash between a receiver's 2xx and the result write means
the message is sent again after restart with the same ``webhook-id``: at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from ledger.domain.webhooks.rules import failing_too_long, retry_delay
from ledger.eventstore import ConcurrencyConflict, EventStore, Repository
from ledger.eventstore.notify import Wakeup
from ledger.projections import positions
from ledger.webhooks import store as sql
from ledger.webhooks.client import Outcome, WebhookClient
from ledger.webhooks.fanout import EndpointRegistry, fan_out
from ledger.webhooks.metrics import observe_attempt, observe_disabled
from ledger.webhooks.queues import Delivery, Key, ShardQueues
from ledger.webhooks.secrets import SecretVault
from ledger.webhooks.signing import signature_headers

log = logging.getLogger("ledger.webhooks")
LOCK_NAMESPACE = "ledger.webhooks:"
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock($1)"
UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
RETRY_AFTER_ERROR_SECONDS = 1.0
FLUSH_INTERVAL = 0.02
HEALTH_INTERVAL = 30.0
REQUEUE_POLL_SECONDS = 0.5
ACTOR = "webhook-deliverer"
Result = tuple[UUID, int, str, Outcome, datetime, "datetime | None"]
"""(delivery_id, attempt, status after it, outcome, attempted at, next attempt at)"""


def shard_name(shard: int, shards: int) -> str:
    return f"webhooks:{shard}/{shards}"


def lock_key(name: str) -> int:
    digest = hashlib.sha256((LOCK_NAMESPACE + name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Deliverer:
    """Delivers webhooks for the shards it can own; ``start()``/``stop()`` around its life."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore, repository: Repository,
                 vault: SecretVault, *, allow_hosts: frozenset[str], shards: int = 1,
                 batch_size: int = 1000, poll_interval: float = 0.05,
                 takeover_interval: float = 1.5, backoff_scale: float = 1.0,
                 max_in_flight: int = 256, timeout: float = 10.0) -> None:
        self.pool, self.store, self.repository, self.vault = pool, store, repository, vault
        self.allow_hosts = allow_hosts
        self.shards = shards
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.takeover_interval = takeover_interval
        self.backoff_scale = backoff_scale
        self.max_in_flight = max_in_flight
        self.timeout = timeout
        self.owned: dict[int, asyncio.Task[None]] = {}
        self.workers: dict[int, ShardWorker] = {}
        self._owner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._owner is None:
            self._owner = asyncio.get_running_loop().create_task(self._own_forever())

    async def stop(self) -> None:
        if self._owner is not None:
            self._owner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._owner
            self._owner = None

    def wake(self) -> None:
        """Something changed (a redelivery was asked for): look at the queues now."""
        for worker in self.workers.values():
            worker.wakeup.set()

    async def _own_forever(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await self._own_with(conn)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the lock connection failed: we own nothing now
                log.warning("webhook shard ownership lost: %s", type(error).__name__)
            finally:
                await self._drop_all()
            await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)

    async def _own_with(self, conn: asyncpg.Connection) -> None:
        while True:
            for shard in range(self.shards):
                name = shard_name(shard, self.shards)
                task = self.owned.get(shard)
                if task is not None and task.done():
                    await conn.fetchval(UNLOCK_SQL, lock_key(name))
                    del self.owned[shard]
                    self.workers.pop(shard, None)
                    continue
                if task is None and await conn.fetchval(TRY_LOCK_SQL, lock_key(name)):
                    log.info("webhook shard %s: owned by this process", name)
                    worker = self.workers[shard] = ShardWorker(self, shard)
                    self.owned[shard] = asyncio.get_running_loop().create_task(worker.run())
            await asyncio.sleep(self.takeover_interval)
            await conn.fetchval("SELECT 1")  # fails fast when the session is gone

    async def _drop_all(self) -> None:
        tasks = list(self.owned.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.owned.clear()
        self.workers.clear()


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
                await Wakeup.wait(generation, d.poll_interval)

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
