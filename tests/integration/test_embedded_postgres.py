"""The embedded server keeps data across restarts and is stopped by its last user."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest

from ledger.db.embedded import EmbeddedPostgres


@pytest.fixture
def root():
    folder = Path(tempfile.mkdtemp(prefix="ledger-embedded-"))
    folder.chmod(0o755)
    yield folder / "cluster"
    leftover = EmbeddedPostgres(folder / "cluster")
    if leftover.is_running():
        leftover._pg_ctl(["-m", "immediate", "-w", "stop"])
    shutil.rmtree(folder, ignore_errors=True)


async def test_data_written_before_a_restart_is_there_after_it(root):
    with EmbeddedPostgres(root) as server:
        conn = await asyncpg.connect(server.url())
        await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        await conn.close()
    assert not EmbeddedPostgres(root).is_running()
    with EmbeddedPostgres(root) as server:
        conn = await asyncpg.connect(server.url())
        assert await conn.fetchval("SELECT n FROM kept") == 42
        await conn.close()


def test_the_server_keeps_running_until_its_last_user_stops(root):
    first, second = EmbeddedPostgres(root), EmbeddedPostgres(root)
    first.start()
    second.start()
    first.stop()
    assert second.is_running()
    second.stop()
    assert not second.is_running()
