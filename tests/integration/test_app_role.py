"""The API's database role, set up as docker/postgres-roles.sh does, may only read and append
events and checkpoints; the trigger stops even the owner from changing them."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import connect

ROLES_SQL = """
    GRANT USAGE ON SCHEMA public TO "{role}";
    ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}";
    ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{role}";
"""


async def test_the_app_role_may_append_and_read_events_but_not_change_them(make_database, server_url):
    url = await make_database()
    role = f"ledger_app_{uuid.uuid4().hex[:8]}"
    owner = await connect(url)
    try:
        await owner.execute(f'CREATE ROLE "{role}" LOGIN')  # our own generated name
        await owner.execute(ROLES_SQL.format(role=role))
        await migrate(url)  # as the owner, after the default privileges (as in compose)
        app = await asyncpg.connect(url.replace("postgres@", f"{role}@", 1))
        try:
            stream = uuid.uuid4()
            await app.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state, "
                "tenant_id, chain_hash) VALUES ($1, 1, 't', '\\x7b7d'::bytea, 'x', $2)",
                stream, bytes(32))
            assert await app.fetchval("SELECT count(*) FROM stored_events") == 1
            for sql in ("UPDATE stored_events SET actor = 'x'", "DELETE FROM stored_events",
                        "TRUNCATE stored_events", "DELETE FROM checkpoints",
                        "UPDATE checkpoint_heads SET version = 1"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                    await app.execute(sql)
            # What the app must change elsewhere it still may (erasure, projections).
            await app.execute("UPDATE data_keys SET tenant_id = tenant_id")
            await app.execute("DELETE FROM snapshots")
        finally:
            await app.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await owner.execute("DELETE FROM stored_events")  # the owner: the trigger says no
    finally:
        await owner.execute(f'DROP OWNED BY "{role}"')
        await owner.close()
        admin = await connect(server_url)
        try:
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await admin.close()
