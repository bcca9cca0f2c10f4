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
import logging
from typing import Any

import asyncpg

_logger = logging.getLogger(__name__)
REPLACE_FIRST_DELAY = 0.1
REPLACE_MAX_DELAY = 2.0
RECHECK_SECONDS = 0.25


class ConnectionLane:
    """A fixed set of pool connections used one statement at a time, first free first."""

    def __init__(self, pool: asyncpg.Pool, size: int) -> None:
        self._pool = pool
        self._size = size
        self._idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        self._held: set[asyncpg.Connection] = set()
        self._replacing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Check the connections out of the pool."""
        while len(self._held) + len(self._replacing) < self._size:
            connection = await self._pool.acquire()
            self._held.add(connection)
            self._idle.put_nowait(connection)

    async def close(self, timeout: float = 10.0) -> None:
        """Give every connection back to the pool, waiting up to ``timeout`` seconds for
        statements in flight; connections still busy after that are terminated."""
        if self._replacing:
            await asyncio.gather(*self._replacing, return_exceptions=True)
        returned: set[asyncpg.Connection] = set()
        try:
            async with asyncio.timeout(timeout):
                while len(returned) < len(self._held):
                    returned.add(await self._idle.get())
        except TimeoutError:
            _logger.warning("closing %d busy held connections", len(self._held) - len(returned))
        for connection in self._held:
            if connection not in returned and not _closed(connection):
                connection.terminate()
            await self._pool.release(connection)
        self._held.clear()

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
        self._idle.put_nowait(fresh)

    def _retire(self, connection: asyncpg.Connection) -> None:
        self._held.discard(connection)
        if not _closed(connection):
            connection.terminate()
        task = asyncio.get_running_loop().create_task(self._replace(connection))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _wait_for_idle(self) -> asyncpg.Connection | None:
        """The next free held connection; None once every held connection has broken."""
        while self._held:
            try:
                async with asyncio.timeout(RECHECK_SECONDS):
                    return await self._idle.get()
            except TimeoutError:
                continue  # still busy; unless they all broke meanwhile, keep waiting
        return None

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """Run one statement on the first free connection.

        When every held connection has broken (the database went away) and none is back yet,
        the statement runs on a pool connection instead: it fails fast while the database is
        unreachable rather than waiting for a held connection that may not come back soon.
        """
        try:
            connection = self._idle.get_nowait()
        except asyncio.QueueEmpty:
            connection = await self._wait_for_idle()
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
                self._idle.put_nowait(connection)
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
