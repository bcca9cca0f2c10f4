"""Connections the store keeps checked out of the pool, to skip the pool's reset round trip.

Releasing a connection to an asyncpg pool runs a reset query (advisory unlocks, CLOSE ALL,
UNLISTEN, RESET ALL): a second round trip per statement, which halved append throughput in
measurements. The store's statements are single autocommit statements that change no session
state, so connections it holds for itself need no reset. A connection whose statement was
cancelled (a client went away mid-request) may still be busy, so it is closed and replaced in
the background; a broken one is replaced the same way, retrying until the database is back.
While none is left (the database is down), statements go to the pool and fail fast.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

import asyncpg

_logger = logging.getLogger(__name__)
REPLACE_FIRST_DELAY = 0.1
REPLACE_MAX_DELAY = 2.0


class ConnectionLane:
    """A fixed set of pool connections used one statement at a time, first free first.

    A statement that finds none free waits on a future of its own, which the next released
    connection is handed to directly (no queue, no timer per wait: on the hottest reads the
    timer of a timed wait cost more than the wait's own bookkeeping); when the last held
    connection breaks, every waiter is told to use the pool instead."""

    def __init__(self, pool: asyncpg.Pool, size: int) -> None:
        self._pool = pool
        self._size = size
        self._idle: collections.deque[asyncpg.Connection] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque())
        self._held: set[asyncpg.Connection] = set()
        self._replacing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Check the connections out of the pool."""
        while len(self._held) + len(self._replacing) < self._size:
            connection = await self._pool.acquire()
            self._held.add(connection)
            self._give(connection)

    async def close(self, timeout: float = 10.0) -> None:
        """Give every connection back to the pool, waiting up to ``timeout`` seconds for
        statements in flight; connections still busy after that are terminated."""
        if self._replacing:
            await asyncio.gather(*self._replacing, return_exceptions=True)
        returned: set[asyncpg.Connection] = set()
        try:
            async with asyncio.timeout(timeout):
                while len(returned) < len(self._held):
                    connection = self._idle.popleft() if self._idle else await self._wait()
                    if connection is None:
                        break
                    returned.add(connection)
        except TimeoutError:
            _logger.warning("closing %d busy held connections", len(self._held) - len(returned))
        for connection in self._held:
            if connection not in returned and not _closed(connection):
                connection.terminate()
            await self._pool.release(connection)
        self._held.clear()
        self._idle.clear()
        self._wake_all()

    def _give(self, connection: asyncpg.Connection) -> None:
        """Hand a free connection to the longest waiting statement, or keep it idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _wake_all(self) -> None:
        """No held connection is left: waiters go to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> asyncpg.Connection | None:
        """The next free held connection; None once every held connection has broken."""
        if not self._held:
            return None
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after a connection was handed over: pass it on, or it is lost.
            if waiter.done() and not waiter.cancelled() and (handed := waiter.result()):
                self._give(handed)
            raise

    async def _replace(self, broken: asyncpg.Connection) -> None:
        try:
            await self._pool.release(broken)
        except Exception as error:  # the pool discards it either way
            _logger.debug("releasing a broken held connection: %s", error)
        # While the database is down acquiring fails: keep trying (a replacement that gave up
        # would shrink the lane for good, and an empty lane would block every statement).
        delay = REPLACE_FIRST_DELAY
        while True:
            try:
                fresh = await self._pool.acquire()
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self._pool.is_closing():
                    return
                _logger.debug("replacing a held connection: %s", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(2 * delay, REPLACE_MAX_DELAY)
        self._held.add(fresh)
        self._give(fresh)

    def _retire(self, connection: asyncpg.Connection) -> None:
        self._held.discard(connection)
        if not _closed(connection):
            connection.terminate()
        if not self._held:
            self._wake_all()
        task = asyncio.get_running_loop().create_task(self._replace(connection))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """Run one statement on the first free connection.

        When every held connection has broken (the database went away) and none is back yet,
        the statement runs on a pool connection instead: it fails fast while the database is
        unreachable rather than waiting for a held connection that may not come back soon.
        """
        connection = self._idle.popleft() if self._idle else await self._wait()
        if connection is None:
            return await self._pool.fetch(sql, *arguments)
        healthy = False
        try:
            records = await connection.fetch(sql, *arguments)
            healthy = True
            return records
        except asyncpg.PostgresError:
            healthy = True  # the server refused the statement; the session is fine
            raise
        finally:
            if healthy and not _closed(connection):
                self._give(connection)
            else:
                self._retire(connection)


def _closed(connection: asyncpg.Connection) -> bool:
    """Whether ``connection`` is unusable. When the server drops a connection, asyncpg's pool
    takes it back at once and detaches our proxy, whose every method then raises
    ``InterfaceError`` (``is_closed()`` included): that is closed too."""
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:
        return True
