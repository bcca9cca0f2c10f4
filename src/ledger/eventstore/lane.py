"""Connections the store keeps checked out of the pool, to skip the pool's reset round trip.

Releasing a connection to an asyncpg pool runs a reset query (advisory unlocks, CLOSE ALL,
UNLISTEN, RESET ALL): a second round trip per statement, which halved append throughput in
measurements. The store's statements are single autocommit statements that change no session
state, so connections it holds for itself need no reset. A connection whose statement was
cancelled (a client went away mid-request) may still be busy, so it is closed and replaced in
the background; a broken one is replaced the same way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

_logger = logging.getLogger(__name__)


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
            if connection not in returned:
                connection.terminate()
            await self._pool.release(connection)
        self._held.clear()

    async def _replace(self, broken: asyncpg.Connection) -> None:
        try:
            await self._pool.release(broken)
        except Exception as error:  # the pool discards it either way
            _logger.debug("releasing a broken held connection: %s", error)
        fresh = await self._pool.acquire()
        self._held.add(fresh)
        self._idle.put_nowait(fresh)

    def _retire(self, connection: asyncpg.Connection) -> None:
        self._held.discard(connection)
        if not connection.is_closed():
            connection.terminate()
        task = asyncio.get_running_loop().create_task(self._replace(connection))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """Run one statement on the first free connection."""
        connection = await self._idle.get()
        healthy = False
        try:
            records = await connection.fetch(sql, *arguments)
            healthy = True
            return records
        except asyncpg.PostgresError:
            healthy = True  # the server refused the statement; the session is fine
            raise
        finally:
            if healthy and not connection.is_closed():
                self._idle.put_nowait(connection)
            else:
                self._retire(connection)
