"""asyncpg connection pools with the session settings every Ledger connection needs."""

from __future__ import annotations

import asyncpg

# A session left idle inside a transaction holds back the feed's xmin horizon and so pauses
# every feed reader (DESIGN.md, "The event store"): cut such sessions off quickly.
SESSION_SETTINGS = {
    "application_name": "ledger",
    "idle_in_transaction_session_timeout": "15000",
    "timezone": "UTC",
}


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool on ``url``; every connection runs in UTC with the Ledger session settings."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        server_settings=SESSION_SETTINGS,
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def connect(url: str) -> asyncpg.Connection:
    """One connection with the same session settings as the pool's."""
    return await asyncpg.connect(url, server_settings=SESSION_SETTINGS, command_timeout=60)
