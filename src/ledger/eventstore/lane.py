"""Connections the store keeps checked out of the pool, to skip the pool's reset round trip.

Releasing a connection to an asyncpg pool runs a reset query (advisory unlocks, CLOSE ALL,
UNLISTEN, RESET ALL): a second round trip per statement, which halved append throughput in
measurements. The store's statements are single autocommit statements that change no session
state, so connections it holds for itself need no reset. A broken connection is handed back to
the pool (which discards it) and replaced.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


class ConnectionLane:
    """A fixed set of pool connections used one statement at a time, first free first."""

    def __init__(self, pool: asyncpg.Pool, size: int) -> None:
        self._pool = pool
        self._size = size
        self._idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        self._held: list[asyncpg.Connection] = []

    async def start(self) -> None:
        """Check the connections out of the pool."""
        while len(self._held) < self._size:
            connection = await self._pool.acquire()
            self._held.append(connection)
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        """Give every connection back to the pool (waits for statements in flight)."""
        for _ in range(len(self._held)):
            connection = await self._idle.get()
            await self._pool.release(connection)
        self._held.clear()

    async def _replace(self, broken: asyncpg.Connection) -> asyncpg.Connection:
        self._held.remove(broken)
        await self._pool.release(broken)
        fresh = await self._pool.acquire()
        self._held.append(fresh)
        return fresh

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """Run one statement on the first free connection."""
        connection = await self._idle.get()
        try:
            return await connection.fetch(sql, *arguments)
        finally:
            if connection.is_closed():
                connection = await self._replace(connection)
            self._idle.put_nowait(connection)
