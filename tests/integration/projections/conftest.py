"""A fresh migrated database per test module: projection positions are global to a database,
so tests that replay the whole feed or race runners must not see other tests' events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import create_pool


@pytest.fixture(scope="module")
async def own_pool(make_database: Callable[[], Awaitable[str]]) -> AsyncIterator[asyncpg.Pool]:
    url = await make_database()
    await migrate(url)
    pool = await create_pool(url, min_size=2, max_size=20)
    try:
        yield pool
    finally:
        await pool.close()
