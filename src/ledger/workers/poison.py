"""Poison items: count an item's own failures and quarantine it after a few."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from ledger.workers.errors import is_transient, reason_of
from ledger.workers.metrics import WORKER_ITEM_FAILURES, WORKER_QUARANTINED
from ledger.workers.quarantine import held_items, quarantine

log = logging.getLogger("ledger.workers")
T = TypeVar("T")
MAX_ATTEMPTS = 3
MAX_TRACKED = 100_000


class PoisonGuard:
    """Runs items for worker ``worker``; an item failing ``max_attempts`` times is quarantined.

    Failures are counted in this process, per item, across calls (so a case that fails on
    every sweep is quarantined on the third); a success forgets them. Transient failures
    (:func:`~ledger.workers.errors.is_transient`) are not the item's fault: they propagate, so
    the worker's loop stops and its :class:`~ledger.workers.Supervisor` retries later.
    """

    def __init__(self, pool: asyncpg.Pool, worker: str, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.pool = pool
        self.worker = worker
        self.max_attempts = max_attempts
        self.failures: dict[str, int] = {}

    async def held(self) -> set[str]:
        """The ids of this worker's quarantined items (skip them)."""
        return await held_items(self.pool, self.worker)

    async def attempt(self, item: str, run: Callable[[], Awaitable[T]], *,
                      tenant_id: str | None = None) -> tuple[bool, T | None]:
        """``(True, result)`` when ``run()`` succeeded; ``(False, None)`` when it failed (and
        the item was quarantined if that was its last attempt)."""
        try:
            result = await run()
        except Exception as error:
            if is_transient(error):
                raise
            await self.failed(item, error, tenant_id=tenant_id)
            return False, None
        self.failures.pop(item, None)
        return True, result

    async def failed(self, item: str, error: BaseException, *, tenant_id: str | None = None,
                     conn: asyncpg.Connection | None = None, at_once: bool = False) -> bool:
        """Count a failure of ``item``; quarantine it on the last attempt (or ``at_once``).
        Returns True when the item is now quarantined."""
        WORKER_ITEM_FAILURES.labels(self.worker).inc()
        if len(self.failures) >= MAX_TRACKED:
            self.failures.clear()  # bounded; an item failing for good comes back in a round
        count = self.failures[item] = self.failures.get(item, 0) + 1
        if count < self.max_attempts and not at_once:
            log.info("worker %s: item %s failed (%s), attempt %d of %d", self.worker, item,
                     reason_of(error), count, self.max_attempts)
            return False
        self.failures.pop(item, None)
        reason = reason_of(error)
        attempts = max(count, self.max_attempts) if at_once else count
        if await quarantine(conn or self.pool, self.worker, item, reason=reason,
                            attempts=attempts, tenant_id=tenant_id):
            WORKER_QUARANTINED.labels(self.worker).inc()
            log.error("worker %s: item %s quarantined after %d attempts (%s); the others go on",
                      self.worker, item, attempts, reason)
        return True
