"""Signed checkpoints catch what a per-stream chain cannot: a deleted tail, a deleted stream,
a stream rewritten with recomputed hashes — and an edit of the checkpoint's own heads."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit.checkpoints import check_latest, take_checkpoint
from ledger.audit.verify import verify_all, verify_case
from ledger.domain.case import Case
from ledger.domain.values import Debtor, PaymentMethod
from ledger.eventstore import EventStore
from ledger.services.repositories import case_repository

MASTER_KEY = os.urandom(32)
HIDDEN_SQL = """
    SELECT count(*) FROM stored_events WHERE originator_id = ANY($1)
      AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
"""
START = datetime(2026, 1, 5, tzinfo=UTC)


async def _cases(pool, tenant: str, count: int = 4, payments: int = 3) -> list[uuid.UUID]:
    repository = case_repository(EventStore(pool), MASTER_KEY)
    ids = []
    for n in range(count):
        case = Case.place(
            case_id=uuid.uuid4(), tenant_id=tenant, external_ref=f"CP-{n}", portfolio="p",
            product="credit_card", currency="USD", principal=100_000, interest=0, fees=0,
            past_due_amount=1_000, days_past_due=40, placed_at=START,
            debtor=Debtor(name="Cee Pee", timezone="UTC", jurisdiction="US-TX"),
            now=START + timedelta(days=1))
        for index in range(payments):
            case.receive_payment(external_id=f"P{index}", amount=100, currency="USD",
                                 received_at=START + timedelta(days=index + 1),
                                 method=PaymentMethod.ACH)
        await repository.save(case, tenant_id=tenant, actor="test")
        ids.append(case.id)
    # A checkpoint covers what is below the feed's horizon: wait until these events are (the
    # suite's background workers may hold an earlier transaction open for a moment).
    async with asyncio.timeout(10):
        while await pool.fetchval(HIDDEN_SQL, ids):
            await asyncio.sleep(0.02)
    return ids


async def _as_superuser(pool, *statements: tuple[str, uuid.UUID]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        # stored_events refuses UPDATE/DELETE (migration 0050): tamper as a superuser would.
        await conn.execute("SET LOCAL session_replication_role = replica")
        for sql, case_id in statements:
            await conn.execute(sql, case_id)


async def test_the_database_refuses_to_change_or_remove_events(pool, tenant):
    [case_id] = await _cases(pool, tenant, count=1)
    for sql in ("UPDATE stored_events SET actor = 'x' WHERE originator_id = $1",
                "DELETE FROM stored_events WHERE originator_id = $1"):
        try:
            await pool.execute(sql, case_id)
        except Exception as error:  # noqa: BLE001 - the type is what we check
            assert "append-only" in str(error)
        else:
            raise AssertionError(f"{sql} was allowed")
    assert await pool.fetchval("SELECT count(*) FROM stored_events WHERE originator_id = $1",
                               case_id) == 4


async def test_a_deleted_tail_a_deleted_stream_and_a_rewritten_stream_are_reported(pool, tenant):
    key = Ed25519PrivateKey.generate()
    tail, gone, rewritten, untouched = await _cases(pool, tenant)
    taken = await take_checkpoint(pool, key)
    assert taken is not None and taken.streams >= 4
    check = await check_latest(pool, key.public_key())
    assert check.signature_ok, check.problem
    assert (await verify_all(pool.fetch, tenant_id=tenant, checkpoint_id=taken.checkpoint_id)).bad == []

    await _as_superuser(
        pool,
        ("DELETE FROM stored_events WHERE originator_id = $1 AND originator_version = 4", tail),
        ("DELETE FROM stored_events WHERE originator_id = $1", gone),
        ("DELETE FROM stored_events WHERE originator_id = $1 AND originator_version >= 2", rewritten))
    # The rewrite: other payments appended through the store, every hash recomputed.
    repository = case_repository(EventStore(pool), MASTER_KEY)
    case = await repository.load(rewritten)
    for index in range(3):
        case.receive_payment(external_id=f"FORGED{index}", amount=1, currency="USD",
                             received_at=START + timedelta(days=index + 1), method=PaymentMethod.ACH)
    await repository.save(case, tenant_id=tenant, actor="test")

    summary = await verify_all(pool.fetch, tenant_id=tenant, checkpoint_id=taken.checkpoint_id)
    found = {bad.case_id: (bad.first_bad_version, bad.reason) for bad in summary.bad}
    assert set(found) == {tail, gone, rewritten}
    assert found[tail][0] == 4 and "missing" in found[tail][1]
    assert found[gone][0] == 1 and "stream is missing" in found[gone][1]
    assert found[rewritten][0] == 4 and "rewritten" in found[rewritten][1]
    # The same verdicts when pages end in the middle of streams (3 rows a page).
    paged = await verify_all(pool.fetch, tenant_id=tenant, checkpoint_id=taken.checkpoint_id,
                             page_size=3)
    assert {bad.case_id: (bad.first_bad_version, bad.reason) for bad in paged.bad} == found
    # Without the checkpoint each chain still recomputes: this is what it adds.
    assert (await verify_all(pool.fetch, tenant_id=tenant)).bad == []

    store = EventStore(pool)
    for case_id, version in ((tail, 4), (gone, 1), (rewritten, 4)):
        verdict = await verify_case(store, tenant, case_id)
        assert verdict is not None and not verdict.ok and verdict.first_bad_version == version
        assert verdict.checkpoint_id == taken.checkpoint_id
    clean = await verify_case(store, tenant, untouched)
    assert clean is not None and clean.ok and clean.events_checked == 4


async def test_editing_a_checkpoint_head_breaks_its_signature(make_database):
    from ledger.db.migrations import migrate
    from ledger.db.pool import create_pool

    url = await make_database()
    await migrate(url)
    own = await create_pool(url, min_size=1, max_size=4)
    try:
        key = Ed25519PrivateKey.generate()
        [case_id] = await _cases(own, "cp-sig", count=1)
        assert await take_checkpoint(own, key) is not None
        assert await take_checkpoint(own, key) is None  # nothing new: skipped
        assert (await check_latest(own, Ed25519PrivateKey.generate().public_key())).problem == (
            "it is signed by another key than the configured one")
        async with own.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE checkpoint_heads SET version = 3 WHERE stream_id = $1", case_id)
        check = await check_latest(own, key.public_key())
        assert not check.signature_ok and check.problem == "its stored stream heads were altered"
    finally:
        await own.close()


async def test_the_periodic_task_signs_new_events_and_skips_when_nothing_changed(make_database):
    import asyncio

    from ledger.audit.checkpoint_task import checkpoint_task
    from ledger.db.migrations import migrate
    from ledger.db.pool import create_pool

    url = await make_database()
    await migrate(url)
    own = await create_pool(url, min_size=1, max_size=4)
    try:
        assert checkpoint_task(own, None, 1.0) is None  # no key: no task (and a warning)
        key = Ed25519PrivateKey.generate()
        await _cases(own, "cp-task", count=2)
        task = checkpoint_task(own, key, 0.05)
        assert task is not None
        await task.start()
        try:
            for _ in range(100):
                if task.taken:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # several more periods, nothing new appended
            assert task.taken == 1
            await _cases(own, "cp-task-2", count=1)
            for _ in range(100):
                if task.taken == 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await task.stop()
        assert task.taken == 2
        check = await check_latest(own, key.public_key())
        assert check.signature_ok and check.checkpoint is not None and check.checkpoint.streams == 3
    finally:
        await own.close()
