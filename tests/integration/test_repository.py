"""Loading and saving aggregates: snapshots, bounds, many-at-once, chaining across saves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from store_model import Account, open_account

from ledger.eventstore import (
    AggregateNotFound,
    ConcurrencyConflict,
    EventStore,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    Repository,
    verify_stream,
)

MOMENT = datetime(2026, 9, 2, tzinfo=UTC)


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


async def account_with_deposits(repository: Repository, tenant: str, deposits: int,
                                per_save: int = 7) -> Account:
    account = open_account()
    for amount in range(1, deposits + 1):
        account.deposit(amount, MOMENT, uuid4())
        if amount % per_save == 0:
            await repository.save(account, tenant_id=tenant, actor="agent")
    await repository.save(account, tenant_id=tenant, actor="agent")
    return account


async def test_a_saved_aggregate_loads_equal_and_its_chain_verifies(
        store: EventStore, tenant: str) -> None:
    repository = Repository(store)
    account = await account_with_deposits(repository, tenant, 20)
    loaded = await Repository(store).load(account.id, tenant_id=tenant)
    assert loaded == account and loaded.version == 21
    assert verify_stream(await store.read_stream(account.id)) == (True, 21, None)


async def test_snapshot_plus_tail_equals_full_replay(store: EventStore, pool: asyncpg.Pool,
                                                     tenant: str) -> None:
    account = await account_with_deposits(Repository(store, snapshot_interval=10), tenant, 34)
    snapshot_versions = [r[0] for r in await pool.fetch(
        "SELECT originator_version FROM snapshots WHERE originator_id = $1 ORDER BY 1",
        account.id)]
    assert snapshot_versions == [15, 22, 35]  # first save crossing each multiple of 10
    with_snapshots = await Repository(store).load(account.id)
    full_replay = await Repository(store, snapshot_interval=None).load(account.id,
                                                                       until_version=35)
    assert with_snapshots == full_replay == account
    full = await Repository(store).load(account.id, until_version=17)
    assert full.version == 17 and full.history == list(range(1, 17))


async def test_a_bounded_load_ignores_snapshots_beyond_the_bound(
        store: EventStore, tenant: str) -> None:
    repository = Repository(store, snapshot_interval=5)
    account = open_account()
    await repository.save(account, tenant_id=tenant)
    rows = await store.read_stream(account.id)
    for amount in range(1, 12):
        account.deposit(amount, MOMENT, uuid4())
        await repository.save(account, tenant_id=tenant)
    rows = await store.read_stream(account.id)
    as_known_then = await repository.load(account.id, until_recorded_at=rows[3].recorded_at)
    assert as_known_then.version == 4 and as_known_then.history == [1, 2, 3]
    assert (await repository.load(account.id, until_version=7)).balance == sum(range(1, 7))
    with pytest.raises(AggregateNotFound):
        await repository.load(account.id,
                              until_recorded_at=datetime(2000, 1, 1, tzinfo=UTC))


async def test_another_tenant_cannot_load_the_aggregate(store: EventStore, tenant: str) -> None:
    repository = Repository(store)
    account = open_account()
    await repository.save(account, tenant_id=tenant)
    with pytest.raises(AggregateNotFound):
        await repository.load(account.id, tenant_id=f"{tenant}-other")
    assert await repository.load_many([account.id], tenant_id=f"{tenant}-other") == {}


async def test_many_aggregates_load_in_one_call(store: EventStore, tenant: str) -> None:
    repository = Repository(store, snapshot_interval=10)
    accounts = [await account_with_deposits(repository, tenant, n) for n in (0, 3, 12, 25)]
    loaded = await Repository(store).load_many([a.id for a in accounts] + [uuid4()],
                                               tenant_id=tenant)
    assert loaded == {a.id: a for a in accounts}


async def test_a_stale_copy_cannot_fork_the_chain(store: EventStore, tenant: str) -> None:
    repository = Repository(store)
    account = open_account()
    await repository.save(account, tenant_id=tenant)
    first, second = await repository.load(account.id), await repository.load(account.id)
    first.deposit(1, MOMENT, uuid4())
    second.deposit(2, MOMENT, uuid4())
    outcomes = await asyncio.gather(repository.save(first, tenant_id=tenant),
                                    repository.save(second, tenant_id=tenant),
                                    return_exceptions=True)
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    assert verify_stream(await store.read_stream(account.id)) == (True, 2, None)
    reloaded = await repository.load(account.id)
    reloaded.deposit(3, MOMENT, uuid4())
    await repository.save(reloaded, tenant_id=tenant)
    assert verify_stream(await store.read_stream(account.id)).ok


async def test_an_old_event_version_is_upcast_when_loading(store: EventStore,
                                                           tenant: str) -> None:
    from eventsourcing.utils import get_topic
    from msgspec import json

    from ledger.eventstore import NewEvent

    repository = Repository(store)
    account = open_account()
    await repository.save(account, tenant_id=tenant)
    v1_state = json.encode({"timestamp": MOMENT.isoformat(), "owner": "Old Name"})
    await store.append([NewEvent(account.id, 2, get_topic(Account.Renamed), v1_state)],
                       tenant_id=tenant)
    loaded = await repository.load(account.id)
    assert loaded.owner == "Old Name"
    assert loaded.rename_reason == "unknown (recorded before reasons)"


async def test_an_idempotency_record_is_saved_with_the_aggregate_or_not_at_all(
        store: EventStore, tenant: str) -> None:
    repository = Repository(store)
    account = open_account()
    record = IdempotencyRecord("open-1", b"body-hash", 201, b'{"version":1}')
    await repository.save(account, tenant_id=tenant, idempotency=record)
    assert (await store.get_idempotency(tenant, "open-1")) is not None
    duplicate = open_account()
    with pytest.raises(IdempotencyKeyConflict):
        await repository.save(duplicate, tenant_id=tenant, idempotency=record)
    with pytest.raises(AggregateNotFound):
        await repository.load(duplicate.id)
    assert len(duplicate.pending_events) == 1  # still pending: nothing was stored


async def test_a_snapshot_that_cannot_be_encoded_never_fails_the_save(
        store: EventStore, pool: asyncpg.Pool, tenant: str) -> None:
    repository = Repository(store, snapshot_interval=2)
    account = open_account()
    account.deposit(1, MOMENT, uuid4())
    account.unencodable = object()  # e.g. an attribute type the snapshot codec does not know
    rows = await repository.save(account, tenant_id=tenant)
    assert [r.originator_version for r in rows] == [1, 2]
    assert await pool.fetchval("SELECT count(*) FROM snapshots WHERE originator_id = $1",
                               account.id) == 0
    del account.unencodable
    loaded = await repository.load(account.id)
    assert loaded.version == 2 and loaded.balance == 1
