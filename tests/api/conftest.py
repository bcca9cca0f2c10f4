"""API fixtures: one app on the session's migrated database, keys per role for a fresh tenant."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.services.keys import Role, create_key

from api_helpers import SECRET, placement


Headers = dict[str, str]


@pytest.fixture(scope="session")
def app(database_url: str) -> Litestar:
    settings = Settings(database_url=database_url, secret_key=SECRET, pool_min_size=2,
                        pool_max_size=20)
    return create_app(settings, database_url, derive_master_key_for_tests=True)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app, timeout=60) as test_client:
        yield test_client


@pytest.fixture(scope="session")
async def live_server(database_url: str) -> AsyncIterator[str]:
    """Base URL of the app under uvicorn on a loopback port.

    The test client serves one request at a time; tests of concurrency and long polling
    need a real server.
    """
    settings = Settings(database_url=database_url, secret_key=SECRET, pool_max_size=40)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, database_url, derive_master_key_for_tests=True), log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture(scope="session")
async def make_key(pool: asyncpg.Pool) -> Callable[..., Awaitable[Headers]]:
    """Create a key; returns the headers that authenticate with it."""

    async def make(tenant: str, role: Role | str, rate_limit: int | None = 100_000) -> Headers:
        _, key = await create_key(pool, SECRET.encode(), tenant_id=tenant, role=Role(role),
                                  rate_limit=rate_limit)
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
async def keys(tenant: str, make_key: Callable[..., Awaitable[Headers]]) -> dict[str, Headers]:
    """One key per role for this test's tenant, by role name."""
    return {role.value: await make_key(tenant, role) for role in Role}


@pytest.fixture
async def case(client: AsyncTestClient, keys: dict[str, Headers]) -> dict[str, Any]:
    """A freshly placed case of this test's tenant (its view)."""
    response = await client.post("/v1/cases", json=placement(), headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()
