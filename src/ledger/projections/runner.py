"""The projection runner: owns projections by advisory lock and keeps them up to date.

Ownership: one connection held for the runner's life takes ``pg_try_advisory_lock`` per
projection; every ``takeover_interval`` seconds it retries the projections it does not own,
so when another owner dies (its connection closes, its locks go) this runner takes over
within seconds. If the lock connection fails, every follower stops at once: the runner no
longer knows it is the only writer. (Even then nothing is applied twice: the position moves
by compare-and-set in the batch transaction.)

Following: read the feed after the position, decode, apply and advance the position in one
transaction. A full page means catching up (read the next at once); a short page means live:
wait for the store's wake-up (appends in this process) or ``poll_interval``.

Poison events (``ledger.workers``): a batch that fails for a reason other than the database
(an event that does not decode, a handler that raises on it) is applied again one event at a
time; the event that keeps failing is quarantined (worker ``projection:<name>``, item
``<case id>/<version>``) in the same transaction that moves the position past it, and the
projection goes on with the rest. Database failures are retried with backoff; a follower that
dies anyway is restarted by the ownership loop, which itself runs under a ``Supervisor``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from ledger.eventstore import EventCodec, EventStore, StoredEventRow
from ledger.eventstore.notify import FOLLOW_GAP, Wakeup
from ledger.projections import positions
from ledger.projections.framework import Envelope, Projection, decode_rows, top_of
from ledger.projections.positions import Position, PositionMoved
from ledger.workers import Backoff, PoisonGuard, Supervisor, WorkerStatus, is_transient
from ledger.workers.metrics import WORKER_RESTARTS

log = logging.getLogger("ledger.projections")
LOCK_NAMESPACE = "ledger.projection:"
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock($1)"
UNLOCK_SQL = "SELECT pg_advisory_unlock($1)"
RETRY_AFTER_ERROR_SECONDS = 1.0
STOP_GRACE_SECONDS = 10.0
POISON_ATTEMPTS = 3
"""Tries of one event alone before it is quarantined."""


def worker_name(projection: str) -> str:
    """The worker-framework name of a projection (its quarantine and metrics label)."""
    return f"projection:{projection}"


def event_item(row: StoredEventRow) -> str:
    """How a quarantined event is named: its case (stream) id and version."""
    return f"{row.originator_id}/{row.originator_version}"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key per projection name."""
    digest = hashlib.sha256((LOCK_NAMESPACE + name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def reset(projection: Projection) -> None:
    """Make ``projection`` forget state cached across batches (if it keeps any)."""
    forget = getattr(projection, "reset", None)
    if forget is not None:
        forget()


async def apply_batch(conn: asyncpg.Connection, projections: Sequence[Projection],
                      position_names: Sequence[str], position: Position,
                      batch: Sequence[Envelope]) -> Position:
    """Apply ``batch`` to ``projections`` and advance their positions, in one transaction.

    Raises ``PositionMoved`` (nothing written) when a position is not ``position`` anymore.
    """
    last = batch[-1].row
    new = position.advanced(last.cursor, len(batch), top_of(batch))
    async with conn.transaction():
        for name in position_names:
            await positions.advance(conn, name, position, new, last.recorded_at)
        for projection in projections:
            await projection.apply(conn, batch)
    return new


class ProjectionRunner:
    """Runs the projections it can own; ``start()``/``stop()`` around the process's life."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore,
                 projections: Sequence[Projection], *, batch_size: int = 2000,
                 poll_interval: float = 0.05, takeover_interval: float = 1.5,
                 codec: EventCodec | None = None) -> None:
        self.pool = pool
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.takeover_interval = takeover_interval
        self.codec = codec or EventCodec()
        self.owned: dict[str, asyncio.Task[None]] = {}
        self.lag_samples: collections.deque[float] = collections.deque(maxlen=100_000)
        """Seconds from each applied event's record time to its batch's commit."""
        self._lock_conn: asyncpg.Connection | None = None
        self._owner: Supervisor | None = None
        self._stopping = False
        self.guards = {name: PoisonGuard(pool, worker_name(name), max_attempts=POISON_ATTEMPTS)
                       for name in self.projections}
        self.caught_up = asyncio.Event()

    async def start(self) -> None:
        if self._owner is None:
            self._stopping = False
            self._owner = Supervisor("projections", self._own_forever)
            await self._owner.start()

    def status(self) -> WorkerStatus:
        """For ``/ready``: the ownership loop's supervision state."""
        if self._owner is None:
            return WorkerStatus("projections", "stopped", 0, None)
        return self._owner.status()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop following and release ownership (others take over).

        Followers finish the batch they are applying (up to ``grace`` seconds) rather than
        being cut off: a cut batch would roll back safely, but its work would be done again.
        """
        if self._owner is not None:
            self._stopping = True
            followers = [task for task in self.owned.values() if not task.done()]
            if followers:
                await asyncio.wait(followers, timeout=grace)
            await self._owner.stop()
            self._owner = None

    async def _own_forever(self) -> None:
        while True:
            try:
                async with self.pool.acquire() as conn:
                    self._lock_conn = conn
                    await self._own_with(conn)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the lock connection failed: we own nothing now
                log.warning("projection ownership lost: %s", type(error).__name__)
            finally:
                await self._drop_all()
                self._lock_conn = None
            await asyncio.sleep(RETRY_AFTER_ERROR_SECONDS)

    async def _own_with(self, conn: asyncpg.Connection) -> None:
        while True:
            for name, projection in self.projections.items():
                task = self.owned.get(name)
                if task is not None and task.done():
                    # A follower only ends by error; give the projection up so another
                    # runner (or this one, next round) starts it afresh.
                    if not task.cancelled() and task.exception() is not None:
                        WORKER_RESTARTS.labels(worker_name(name)).inc()
                        log.warning("projection %s: follower failed (%s); restarting", name,
                                    type(task.exception()).__name__)
                    await conn.fetchval(UNLOCK_SQL, lock_key(name))
                    del self.owned[name]
                    continue
                if task is None and not self._stopping and await conn.fetchval(
                        TRY_LOCK_SQL, lock_key(name)):
                    log.info("projection %s: owned by this process", name)
                    self.owned[name] = asyncio.get_running_loop().create_task(
                        self._follow(projection))
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

    async def _follow(self, projection: Projection) -> None:
        name = projection.name
        reset(projection)  # whatever it cached may predate another owner's batches
        position = await positions.load(self.pool, name)
        backoff = Backoff(initial=RETRY_AFTER_ERROR_SECONDS / 2, maximum=15.0)
        while not self._stopping:  # checked between batches: a started batch completes
            generation = self.store.wakeup.current()
            read_at = time.monotonic()
            rows: Sequence[StoredEventRow] = ()
            try:
                rows = await self.store.read_all(position.cursor, self.batch_size)
                if rows:
                    try:
                        batch = decode_rows(self.codec, rows, position.events_applied)
                        async with self.pool.acquire() as conn:
                            position = await apply_batch(conn, [projection], [name], position,
                                                         batch)
                        self._record_lag(batch)
                    except Exception as error:
                        if is_transient(error) or isinstance(error, PositionMoved):
                            raise
                        # Not the database: some event of this batch cannot be applied.
                        log.warning("projection %s: batch failed (%s); applying its events "
                                    "one by one", name, type(error).__name__)
                        reset(projection)
                        position = await self._isolate(projection, await positions.load(
                            self.pool, name))
                        continue
                backoff.reset()
            except PositionMoved:
                log.info("projection %s: position moved (rebuild swap?); reloading", name)
                reset(projection)
                position = await positions.load(self.pool, name)
                continue
            except Exception as error:
                if not is_transient(error):
                    raise  # the ownership loop restarts this follower
                log.warning("projection %s: %s; retrying", name, type(error).__name__)
                reset(projection)
                await asyncio.sleep(backoff.next())
                position = await positions.load(self.pool, name)
                continue
            if len(rows) < self.batch_size:
                await Wakeup.wait(generation, self.poll_interval, not_before=read_at + FOLLOW_GAP)

    async def _isolate(self, projection: Projection, position: Position) -> Position:
        """Apply the next batch one event at a time up to its first poison event, which is
        quarantined (its position skipped) after ``POISON_ATTEMPTS`` failures."""
        name = projection.name
        guard = self.guards[name]
        for row in await self.store.read_all(position.cursor, self.batch_size):
            for attempt in range(1, POISON_ATTEMPTS + 1):
                try:
                    batch = decode_rows(self.codec, [row], position.events_applied)
                    async with self.pool.acquire() as conn:
                        position = await apply_batch(conn, [projection], [name], position, batch)
                    break
                except Exception as error:
                    if is_transient(error) or isinstance(error, PositionMoved):
                        raise
                    reset(projection)
                    if attempt < POISON_ATTEMPTS:
                        await asyncio.sleep(0.05 * attempt)
                        continue
                    new = position.advanced(row.cursor, 1, row.notification_id)
                    async with self.pool.acquire() as conn, conn.transaction():
                        await positions.advance(conn, name, position, new, row.recorded_at)
                        await guard.failed(event_item(row), error, tenant_id=row.tenant_id,
                                           conn=conn, at_once=True)
                    return new  # past the poison: back to whole batches
        return position

    def _record_lag(self, batch: Sequence[Envelope]) -> None:
        now = datetime.now(UTC)
        self.lag_samples.extend((now - e.row.recorded_at).total_seconds() for e in batch)

    async def wait_until_caught_up(self, timeout: float = 30.0) -> None:
        """For tests and tools: wait until every projection has applied every committed event."""
        deadline = time.monotonic() + timeout
        names = list(self.projections)
        while True:
            lags = await positions.lags(self.pool, names)
            if all(lag.positions_behind == 0 for lag in lags):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections still behind: {lags}")
            await asyncio.sleep(0.05)
