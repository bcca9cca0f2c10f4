"""Shared fixtures: one real PostgreSQL per test session.

By default an embedded PostgreSQL 18 starts in a temporary folder; with
``LEDGER_TEST_DATABASE_URL`` the tests use that server instead. Either way they create
databases of their own (``ledger_test_*``) and drop only those.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import connect, create_pool

import suite_cleanup

_SUITE_ROOT: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Every temporary folder of the session goes in one, removed at the end (issue 11, 12)."""
    global _SUITE_ROOT
    if _SUITE_ROOT is None:
        _SUITE_ROOT = suite_cleanup.start_session()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SUITE_ROOT is not None:
        suite_cleanup.clean(_SUITE_ROOT)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a maintenance database on the test server."""
    external = os.environ.get("LEDGER_TEST_DATABASE_URL")
    if external:
        yield external
        return
    from ledger.db.embedded import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="ledger-test-pg-"))
    root.chmod(0o755)  # the server runs as its own user when tests run as root
    server = EmbeddedPostgres(root / "cluster")
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def make_database(server_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Factory of new empty databases (unmigrated), dropped when the session ends."""
    created: list[str] = []
    admin = await connect(server_url)

    async def create() -> str:
        name = f"ledger_test_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input
        created.append(name)
        return _with_database(server_url, name)

    try:
        yield create
    finally:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(make_database: Callable[[], Awaitable[str]]) -> str:
    """A migrated database shared by the session; tests isolate by fresh ids and tenants."""
    url = await make_database()
    await migrate(url)
    return url


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=2, max_size=40)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses, so tests sharing the database never see each other."""
    return f"t-{uuid.uuid4().hex[:10]}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """Test modules are imported by basename (no packages): two files of one name in different
    tiers would make the whole run stop at collection, so refuse that loudly and early."""
    if file_path.name.startswith("test_") and file_path.suffix == ".py":
        seen = parent.session.config.stash.setdefault(_BASENAMES, {})
        other = seen.setdefault(file_path.name, file_path)
        if other != file_path:
            raise pytest.UsageError(f"two test modules named {file_path.name}: {other} and {file_path}")


_BASENAMES = pytest.StashKey[dict[str, Path]]()
