"""Start-up against a role that may not change the schema: clear error, or serve if up to date."""

from __future__ import annotations

import uuid

import pytest

from ledger.config import Settings
from ledger.db.migrations import migrate
from ledger.db.pool import connect
from ledger.serving import StartupError, prepare_database


async def test_a_read_only_role_is_told_to_migrate_first_then_serves_an_up_to_date_schema(
        make_database, server_url):
    url = await make_database()
    role = f"ledger_ro_{uuid.uuid4().hex[:8]}"
    owner = await connect(url)
    try:
        await owner.execute(f'CREATE ROLE "{role}" LOGIN')  # our own generated name
        await owner.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        read_only_url = url.replace("postgres@", f"{role}@", 1)
        assert read_only_url != url
        settings = Settings(database_url=read_only_url, secret_key="x" * 32)

        with pytest.raises(StartupError, match=r"migration\(s\) are pending .* `ledger migrate`"):
            await prepare_database(settings, read_only_url)

        await migrate(url)  # the schema owner applies them
        await owner.execute(f'GRANT SELECT ON schema_migrations TO "{role}"')
        assert await prepare_database(settings, read_only_url) == []
    finally:
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.close()
        admin = await connect(server_url)
        try:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await admin.close()
