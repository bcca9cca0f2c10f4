"""Supervision: a worker loop that raises is restarted after an exponential backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

import msgspec

from ledger.workers.errors import reason_of
from ledger.workers.metrics import WORKER_RESTARTS

log = logging.getLogger("ledger.workers")


class Backoff:
    """Delays of ``initial`` × ``factor``ⁿ seconds, capped at ``maximum``, with ±25 % jitter."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.failures = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * self.factor ** self.failures)
        self.failures += 1
        return delay * random.uniform(0.75, 1.25)

    def reset(self) -> None:
        self.failures = 0


class WorkerStatus(msgspec.Struct, frozen=True):
    """How a supervised worker is doing, as ``/ready`` shows it."""

    name: str
    state: str
    """``running``, ``restarting`` (backing off after a failure) or ``stopped``."""
    restarts: int
    last_error: str | None
    """The type of the last failure (never its message)."""


class Supervisor:
    """Runs ``body()`` as a task until ``stop()``; restarts it whenever it raises.

    ``body`` is the worker's loop: it normally runs for ever. If it returns, it is started
    again at once (after ``healthy_after`` seconds of running the backoff starts over); if it
    raises, the error type is logged, ``ledger_worker_restarts`` counted and the loop started
    again after the next backoff delay.
    """

    def __init__(self, name: str, body: Callable[[], Awaitable[None]], *,
                 backoff: Backoff | None = None, healthy_after: float = 30.0) -> None:
        self.name = name
        self.body = body
        self.backoff = backoff or Backoff()
        self.healthy_after = healthy_after
        self.restarts = 0
        self.last_error: str | None = None
        self.state = "stopped"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self.state = "running"
            self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.state = "stopped"

    def status(self) -> WorkerStatus:
        return WorkerStatus(self.name, self.state, self.restarts, self.last_error)

    async def _supervise(self) -> None:
        while True:
            started = time.monotonic()
            self.state = "running"
            try:
                await self.body()
                delay = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: the loop must come back
                self.restarts += 1
                self.last_error = reason_of(error)
                WORKER_RESTARTS.labels(self.name).inc()
                if time.monotonic() - started >= self.healthy_after:
                    self.backoff.reset()
                delay = self.backoff.next()
                log.warning("worker %s failed (%s); restarting in %.1f s", self.name,
                            self.last_error, delay,
                            exc_info=error if log.isEnabledFor(logging.DEBUG) else None)
            self.state = "restarting"
            await asyncio.sleep(delay)
