"""Appending to the event store: atomic, typed conflicts, metadata, idempotency records."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
import pytest

from ledger.eventstore import (
    ChainHead,
    ConcurrencyConflict,
    EventStore,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    InvalidAppend,
    NewEvent,
)
from ledger.eventstore.lane import ConnectionLane

TOPIC = "tests:Happened"


def events(stream: UUID, first: int, count: int = 1) -> list[NewEvent]:
    return [NewEvent(stream, v, TOPIC, b'{"n":%d}' % v) for v in range(first, first + count)]


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


async def test_an_append_stores_every_metadata_column(store: EventStore, tenant: str) -> None:
    stream, correlation, causation = uuid4(), uuid4(), uuid4()
    rows = await store.append(events(stream, 1, 3), tenant_id=tenant, actor="agent-7",
                              correlation_id=correlation, causation_id=causation)
    stored = await store.read_stream(stream)
    assert stored == rows
    assert [r.originator_version for r in stored] == [1, 2, 3]
    assert {(r.tenant_id, r.actor, r.correlation_id, r.causation_id) for r in stored} == {
        (tenant, "agent-7", correlation, causation)}
    assert len({r.transaction_id for r in stored}) == 1
    assert all(len(r.chain_hash) == 32 for r in stored)


async def test_concurrent_appends_to_one_stream_conflict_and_other_streams_are_unaffected(
        store: EventStore, tenant: str) -> None:
    contested, bystander = uuid4(), uuid4()
    (first,) = await store.append(events(contested, 1), tenant_id=tenant)
    await store.append(events(bystander, 1), tenant_id=tenant)
    head = {contested: ChainHead(1, first.chain_hash)}
    outcomes = await asyncio.gather(
        *(store.append(events(contested, 2, 2), tenant_id=tenant, heads=head) for _ in range(6)),
        store.append(events(bystander, 2), tenant_id=tenant),
        return_exceptions=True)
    conflicts = [o for o in outcomes[:6] if isinstance(o, ConcurrencyConflict)]
    assert len(conflicts) == 5
    assert not isinstance(outcomes[6], BaseException)
    assert [r.originator_version for r in await store.read_stream(contested)] == [1, 2, 3]
    assert [r.originator_version for r in await store.read_stream(bystander)] == [1, 2]


async def test_a_conflicting_batch_stores_none_of_its_events(store: EventStore,
                                                             tenant: str) -> None:
    taken, fresh = uuid4(), uuid4()
    await store.append(events(taken, 1), tenant_id=tenant)
    with pytest.raises(ConcurrencyConflict):
        await store.append(events(fresh, 1, 2) + events(taken, 1), tenant_id=tenant)
    assert await store.read_stream(fresh) == []


async def test_an_append_against_a_stale_chain_head_is_a_conflict(store: EventStore,
                                                                   tenant: str) -> None:
    stream = uuid4()
    await store.append(events(stream, 1), tenant_id=tenant)
    with pytest.raises(ConcurrencyConflict):
        await store.append(events(stream, 2), tenant_id=tenant,
                           heads={stream: ChainHead(1, bytes(32))})
    with pytest.raises(ConcurrencyConflict):
        await store.append(events(stream, 3), tenant_id=tenant)  # would leave a gap at 2
    assert len(await store.read_stream(stream)) == 1


async def test_an_unknown_head_is_looked_up_and_chained(store: EventStore, tenant: str) -> None:
    stream = uuid4()
    (first,) = await store.append(events(stream, 1), tenant_id=tenant)
    (second,) = await store.append(events(stream, 2), tenant_id=tenant)
    assert second.chain_hash != first.chain_hash


async def test_versions_out_of_order_within_a_batch_are_refused(store: EventStore,
                                                                tenant: str) -> None:
    stream = uuid4()
    with pytest.raises(InvalidAppend):
        await store.append([*events(stream, 2), *events(stream, 1)], tenant_id=tenant)


async def test_an_idempotency_record_is_stored_with_the_events(store: EventStore,
                                                               tenant: str) -> None:
    stream = uuid4()
    record = IdempotencyRecord("key-1", b"\x01" * 32, 201, b'{"version":1}')
    await store.append(events(stream, 1), tenant_id=tenant, idempotency=record)
    stored = await store.get_idempotency(tenant, "key-1")
    assert stored is not None
    assert (stored.request_hash, stored.status, stored.response) == (
        record.request_hash, 201, b'{"version":1}')
    assert await store.get_idempotency(f"{tenant}-other", "key-1") is None


async def test_conflicting_events_leave_no_idempotency_record(store: EventStore,
                                                              tenant: str) -> None:
    stream = uuid4()
    await store.append(events(stream, 1), tenant_id=tenant)
    record = IdempotencyRecord("key-2", b"h", 201, b"{}")
    with pytest.raises(ConcurrencyConflict):
        await store.append(events(stream, 1), tenant_id=tenant, idempotency=record)
    with pytest.raises(ConcurrencyConflict):
        await store.append(events(stream, 2), tenant_id=tenant, idempotency=record,
                           heads={stream: ChainHead(1, bytes(32))})
    assert await store.get_idempotency(tenant, "key-2") is None


async def test_a_duplicate_idempotency_key_is_a_typed_error_and_stores_no_events(
        store: EventStore, tenant: str) -> None:
    first, second = uuid4(), uuid4()
    record = IdempotencyRecord("key-3", b"h", 201, b"{}")
    await store.append(events(first, 1), tenant_id=tenant, idempotency=record)
    with pytest.raises(IdempotencyKeyConflict):
        await store.append(events(second, 1), tenant_id=tenant, idempotency=record)
    assert await store.read_stream(second) == []
    with pytest.raises(IdempotencyKeyConflict):
        await store.put_idempotency(tenant, record)


async def test_held_connections_keep_working_after_conflicts(pool: asyncpg.Pool,
                                                             tenant: str) -> None:
    async with EventStore(pool, held_connections=2) as store:
        stream = uuid4()
        await store.append(events(stream, 1), tenant_id=tenant)
        for _ in range(4):
            with pytest.raises(ConcurrencyConflict):
                await store.append(events(stream, 1), tenant_id=tenant)
        await store.append(events(stream, 2), tenant_id=tenant)
        assert [r.originator_version for r in await store.read_stream(stream)] == [1, 2]


async def test_a_cancelled_statement_does_not_poison_a_held_connection(pool: asyncpg.Pool,
                                                                       tenant: str) -> None:
    async with EventStore(pool, held_connections=1) as store:
        slow = asyncio.create_task(store.fetch("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.2)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        stream = uuid4()
        await store.append(events(stream, 1), tenant_id=tenant)
        assert len(await store.read_stream(stream)) == 1


async def test_statements_waiting_for_a_held_connection_go_to_the_pool_when_the_last_breaks(
        pool: asyncpg.Pool) -> None:
    async with EventStore(pool, held_connections=1) as store:
        busy = asyncio.create_task(store.fetch("SELECT pg_backend_pid(), pg_sleep(30)"))
        await asyncio.sleep(0.2)
        waiting = [asyncio.create_task(store.fetch("SELECT 1")) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert not any(task.done() for task in waiting)  # all queued for the one connection
        held_pid = await pool.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_backend_pid(), pg_sleep%'")
        await pool.execute("SELECT pg_terminate_backend($1)", held_pid)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await busy
        async with asyncio.timeout(5):  # no one waits on for a connection that is gone
            assert [(await task)[0][0] for task in waiting] == [1, 1, 1]
        assert (await store.fetch("SELECT 2"))[0][0] == 2


async def test_a_held_connection_handed_to_a_cancelled_statement_goes_on_to_the_next(
        pool: asyncpg.Pool) -> None:
    lane = ConnectionLane(pool, 1)
    await lane.start()
    try:
        taken = lane._idle.popleft()  # in use by a statement
        first = asyncio.create_task(lane.fetch("SELECT 1"))
        second = asyncio.create_task(lane.fetch("SELECT 2"))
        await asyncio.sleep(0.05)
        assert not first.done() and not second.done()
        lane._give(taken)  # released: handed to the first waiter ...
        first.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        async with asyncio.timeout(5):
            assert (await second)[0][0] == 2
    finally:
        await lane.close(timeout=5)
