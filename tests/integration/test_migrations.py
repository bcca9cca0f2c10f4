"""Migrations: applied once, in order, under a lock; edited files are refused."""

from __future__ import annotations

import asyncio

import pytest

from ledger.db import migrations
from ledger.db.migrations import MigrationError, available_migrations, migrate, pending_migrations
from ledger.db.pool import connect


async def test_a_new_database_gets_every_migration_recorded_with_its_checksum(make_database):
    url = await make_database()
    applied = await migrate(url)
    expected = available_migrations()
    assert applied == [f"{m.version:04d}_{m.name}" for m in expected]
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in expected]
        assert await pending_migrations(conn) == []
    finally:
        await conn.close()


async def test_a_second_run_applies_nothing(make_database):
    url = await make_database()
    await migrate(url)
    assert await migrate(url) == []


async def test_processes_starting_at_once_apply_each_migration_exactly_once(make_database):
    url = await make_database()
    results = await asyncio.gather(*(migrate(url) for _ in range(4)))
    flattened = [name for result in results for name in result]
    assert sorted(flattened) == sorted(f"{m.version:04d}_{m.name}" for m in available_migrations())
    conn = await connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(available_migrations())
    finally:
        await conn.close()


async def test_a_migration_edited_after_it_was_applied_stops_start_up(make_database, monkeypatch):
    url = await make_database()
    await migrate(url)
    original = available_migrations()
    edited = [migrations.Migration(m.version, m.name, m.sql + "\n-- edited\n") for m in original]
    monkeypatch.setattr(migrations, "available_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="was edited after it was applied"):
        await migrate(url)


async def test_a_database_from_a_newer_release_is_refused(make_database, monkeypatch):
    url = await make_database()
    await migrate(url)
    monkeypatch.setattr(migrations, "available_migrations", lambda: [])
    with pytest.raises(MigrationError, match="newer release"):
        await migrate(url)
