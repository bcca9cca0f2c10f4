"""Reads that may lag go to a streaming replica; the primary stays the fallback.

``ReadSide`` owns the optional replica pool (``LEDGER_READ_DATABASE_URL``) and a health probe
run at most once a second: the replica is used only while it answers and its replay is within
``max_lag_seconds`` of the primary. The replica's read models are the primary's own tables
(streamed by PostgreSQL), so it needs no projection runner and holds exactly what the primary
had at some recent moment.

``pool_for(projection, min_position)`` implements read-your-writes: a caller that wrote at feed
position N (``Ledger-Position``) asks for a source whose ``projection`` has applied N; the
replica is polled for up to ``MIN_POSITION_WAIT`` seconds, else the primary answers (after
waiting out the rest of that time for its own runner, if needed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg

from ledger.db.pool import create_pool

MIN_POSITION_WAIT = 2.0
POLL_SECONDS = 0.02
PROBE_EVERY_SECONDS = 1.0
log = logging.getLogger("ledger.replica")

PRIMARY_LSN_SQL = "SELECT pg_current_wal_lsn()::text"
REPLICA_STATE_SQL = """
    SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= $1::text::pg_lsn,
           coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8
"""
# Has read model $1 applied the event at feed position (notification_id) $2? The event must be
# visible here (a replica may not have it yet) and at or before the projection's cursor.
INCLUDES_SQL = """
    SELECT EXISTS (
        SELECT 1 FROM projection_positions p, stored_events e
        WHERE p.name = $1 AND e.notification_id = $2
          AND (e.transaction_id, e.notification_id) <= (p.transaction_id, p.notification_id))
"""
# The errors that mean "this server is not usable now", as opposed to a bad query.
UNAVAILABLE = (OSError, asyncio.TimeoutError, asyncpg.InterfaceError,
               asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
               asyncpg.AdminShutdownError, asyncpg.TooManyConnectionsError)


class ReadSide:
    """The pool a lag-tolerant read should use: the replica when healthy, else the primary."""

    def __init__(self, primary: asyncpg.Pool, replica_url: str | None = None, *,
                 max_lag_seconds: float = 5.0, pool_max_size: int = 10) -> None:
        self.primary = primary
        self.replica_url = replica_url
        self.max_lag_seconds = max_lag_seconds
        self.pool_max_size = pool_max_size
        self.replica: asyncpg.Pool | None = None
        self.healthy = False
        self.lag_seconds: float | None = None
        self._probed_at = 0.0
        self._probe_lock = asyncio.Lock()

    async def start(self) -> None:
        if self.replica_url is None:
            return
        try:
            self.replica = await create_pool(self.replica_url, min_size=1, max_size=self.pool_max_size)
        except UNAVAILABLE as error:  # start anyway: reads use the primary until it is back
            log.warning("read replica unavailable at start-up: %s", type(error).__name__)
        await self._probe()

    async def close(self) -> None:
        if self.replica is not None:
            await self.replica.close()

    async def replica_if_healthy(self) -> asyncpg.Pool | None:
        if self.replica_url is None:
            return None
        if time.monotonic() - self._probed_at >= PROBE_EVERY_SECONDS:
            async with self._probe_lock:
                if time.monotonic() - self._probed_at >= PROBE_EVERY_SECONDS:
                    await self._probe()
        return self.replica if self.healthy else None

    def mark_unavailable(self) -> None:
        """A query on the replica failed for want of a server: skip it until the next probe."""
        self.healthy = False
        self._probed_at = time.monotonic()

    async def _probe(self) -> None:
        self._probed_at = time.monotonic()
        try:
            if self.replica is None:
                assert self.replica_url is not None
                self.replica = await create_pool(self.replica_url, min_size=1,
                                                 max_size=self.pool_max_size)
            primary_lsn = await self.primary.fetchval(PRIMARY_LSN_SQL)
            in_recovery, caught_up, age = await asyncio.wait_for(
                self.replica.fetchrow(REPLICA_STATE_SQL, primary_lsn), PROBE_EVERY_SECONDS)
        except (*UNAVAILABLE, asyncpg.PostgresError) as error:
            if self.healthy:
                log.warning("read replica skipped: %s", type(error).__name__)
            self.healthy, self.lag_seconds = False, None
            return
        self.lag_seconds = 0.0 if caught_up else float(age)
        healthy = bool(in_recovery) and self.lag_seconds <= self.max_lag_seconds
        if healthy != self.healthy:
            log.info("read replica %s (lag %.3f s)", "in use" if healthy else "skipped", self.lag_seconds)
        self.healthy = healthy

    async def pool_for(self, projection: str, min_position: int | None = None) -> Any:
        """Where to read ``projection`` from; with ``min_position``, a source that includes it."""
        replica = await self.replica_if_healthy()
        if min_position is None:
            return _Fallback(self, replica) if replica is not None else self.primary
        deadline = time.monotonic() + MIN_POSITION_WAIT
        if replica is not None:
            try:
                if await _wait_until_included(replica, projection, min_position, deadline):
                    return _Fallback(self, replica)
            except UNAVAILABLE:
                self.mark_unavailable()
        await _wait_until_included(self.primary, projection, min_position, deadline)
        return self.primary


async def _wait_until_included(pool: asyncpg.Pool, projection: str, position: int,
                               deadline: float) -> bool:
    while True:
        if await pool.fetchval(INCLUDES_SQL, projection, position):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)


class _Fallback:
    """The replica pool's query methods, falling back to the primary when the replica is gone.

    Read models are read with ``fetch``/``fetchrow``/``fetchval``; a replica that stops mid-way
    turns into a retry on the primary instead of a failed request."""

    def __init__(self, side: ReadSide, replica: asyncpg.Pool) -> None:
        self._side = side
        self._replica = replica

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self._replica, method)(*args, **kwargs)
        except UNAVAILABLE:
            self._side.mark_unavailable()
        return await getattr(self._side.primary, method)(*args, **kwargs)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetch", *args, **kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetchrow", *args, **kwargs)

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run("fetchval", *args, **kwargs)

    def acquire(self) -> Any:
        return self._replica.acquire()
