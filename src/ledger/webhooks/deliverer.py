"""The webhook deliverer: shards owned by advisory lock, fan-out, sending, results.

Ownership works like the projection runner's: one connection held for the deliverer's life
takes ``pg_try_advisory_lock`` per shard (``LEDGER_WEBHOOK_SHARDS``, cases split by id), and
retries the shards it does not own every ``takeover_interval`` seconds, so when an owner dies
another process takes over within seconds. A shard's owner (``shard.ShardWorker``) runs
fan-out (feed → delivery rows, with the position), the sender (due queue heads → POST,
bounded concurrency), the result writer (attempts and outcomes, batched every few
milliseconds), the health check (3 days failing disables) and the pruning of finished
deliveries (``retention``). A crash between a receiver's 2xx and the result write means the
message is sent again after restart with the same ``webhook-id``: at-least-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import asyncpg

from ledger.eventstore import EventStore, Repository
from ledger.workers import Supervisor, WorkerStatus
from ledger.webhooks.secrets import SecretVault
from ledger.webhooks.shard import RETRY_AFTER_ERROR_SECONDS, ShardWorker, shard_name

log = logging.getLogger("ledger.webhooks")
LOCK_NAMESPACE = "ledger.webhooks:"
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock($1)"
UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
__all__ = ["Deliverer", "lock_key", "shard_name"]


def lock_key(name: str) -> int:
    digest = hashlib.sha256((LOCK_NAMESPACE + name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Deliverer:
    """Delivers webhooks for the shards it can own; ``start()``/``stop()`` around its life."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore, repository: Repository,
                 vault: SecretVault, *, allow_hosts: frozenset[str], shards: int = 1,
                 batch_size: int = 1000, poll_interval: float = 0.05,
                 takeover_interval: float = 1.5, backoff_scale: float = 1.0,
                 max_in_flight: int = 256, timeout: float = 10.0,
                 retention_days: int = 30) -> None:
        self.pool, self.store, self.repository, self.vault = pool, store, repository, vault
        self.allow_hosts = allow_hosts
        self.shards = shards
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.takeover_interval = takeover_interval
        self.backoff_scale = backoff_scale
        self.max_in_flight = max_in_flight
        self.timeout = timeout
        self.retention_days = retention_days
        self.owned: dict[int, asyncio.Task[None]] = {}
        self.workers: dict[int, ShardWorker] = {}
        self._owner: Supervisor | None = None

    async def start(self) -> None:
        """Own shards under the worker framework's supervision (restarted if it ever dies)."""
        if self._owner is None:
            self._owner = Supervisor("webhooks", self._own_forever)
            await self._owner.start()

    def status(self) -> WorkerStatus:
        """For ``/ready``: the ownership loop's supervision state."""
        if self._owner is None:
            return WorkerStatus("webhooks", "stopped", 0, None)
        return self._owner.status()

    async def stop(self) -> None:
        if self._owner is not None:
            await self._owner.stop()
            await self._drop_all()
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
