"""The per-stream hash chain recomputes and exposes edits made directly in the database."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest

from ledger.eventstore import GENESIS_HASH, EventStore, NewEvent, canonical_encoding, verify_stream


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


async def five_event_stream(store: EventStore, tenant: str) -> UUID:
    stream = uuid4()
    for version in range(1, 6):
        await store.append([NewEvent(stream, version, "tests:Happened", b'{"v":%d}' % version)],
                           tenant_id=tenant, actor=f"agent-{version}")
    return stream


def test_the_canonical_encoding_is_the_documented_byte_layout() -> None:
    stream = UUID("00112233-4455-6677-8899-aabbccddeeff")
    moment = datetime(2026, 9, 1, 12, 0, 0, 123456, tzinfo=UTC)
    expected = (stream.bytes + struct.pack(">q", 7) + b"\x00\x00\x00\x03abc" + b"\x00\x00\x00\x02{}"
                + b"\x00\x00\x00\x02t1" + b"\xff\xff\xff\xff"
                + struct.pack(">q", 1788264000123456))
    assert canonical_encoding(stream, 7, "abc", b"{}", "t1", None, moment) == expected


async def test_stored_chain_hashes_recompute(store: EventStore, tenant: str) -> None:
    stream = await five_event_stream(store, tenant)
    rows = await store.read_stream(stream)
    assert verify_stream(rows) == (True, 5, None)
    first = rows[0]
    assert first.chain_hash == hashlib.sha256(GENESIS_HASH + canonical_encoding(
        stream, 1, first.topic, first.state, tenant, "agent-1", first.recorded_at)).digest()


@pytest.mark.parametrize(("tampering", "first_bad_version"), [
    ("UPDATE stored_events SET state = '{\"v\":99}' WHERE originator_id = $1 "
     "AND originator_version = 3", 3),
    ("UPDATE stored_events SET actor = 'someone else' WHERE originator_id = $1 "
     "AND originator_version = 2", 2),
    ("UPDATE stored_events SET recorded_at = recorded_at - interval '1 day' "
     "WHERE originator_id = $1 AND originator_version = 4", 4),
    ("DELETE FROM stored_events WHERE originator_id = $1 AND originator_version = 3", 3),
    ("UPDATE stored_events SET originator_version = originator_version + 1000 "
     "WHERE originator_id = $1 AND originator_version IN (2, 3);"
     "UPDATE stored_events SET originator_version = CASE originator_version WHEN 1002 THEN 3 "
     "ELSE 2 END WHERE originator_id = $1 AND originator_version IN (1002, 1003)", 2),
    ("UPDATE stored_events SET chain_hash = sha256(chain_hash) WHERE originator_id = $1 "
     "AND originator_version = 5", 5),
    ("UPDATE stored_events SET originator_version = originator_version + 1000 "
     "WHERE originator_id = $1 AND originator_version >= 4;"
     "UPDATE stored_events SET originator_version = originator_version - 999 "
     "WHERE originator_id = $1 AND originator_version > 1000;"
     "INSERT INTO stored_events (originator_id, originator_version, topic, state, tenant_id, "
     "chain_hash) SELECT $1, 4, topic, state, tenant_id, chain_hash FROM stored_events "
     "WHERE originator_id = $1 AND originator_version = 3", 4),
], ids=["edited state", "edited actor", "edited recorded_at", "deleted row", "swapped versions",
        "edited hash", "inserted row"])
async def test_a_row_edited_in_the_database_is_detected(
        store: EventStore, pool: asyncpg.Pool, tenant: str, tampering: str,
        first_bad_version: int) -> None:
    stream = await five_event_stream(store, tenant)
    async with pool.acquire() as connection, connection.transaction():
        # stored_events refuses UPDATE/DELETE (migration 0050): tamper as a superuser would.
        await connection.execute("SET LOCAL session_replication_role = replica")
        for statement in tampering.split(";"):
            await connection.execute(statement, stream)
    result = verify_stream(await store.read_stream(stream))
    assert result.ok is False
    assert result.first_bad_version == first_bad_version
