"""The runner: exactly-once through crashes, one owner per projection, failover, lag."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg
import pytest

from ledger.eventstore import EventStore, NewEvent
from ledger.projections import NAMES, ProjectionRunner, all_projections, lags
from ledger.projections.cases import CasesProjection
from ledger.projections.deadlines import tick
from ledger.projections.framework import Envelope
from ledger.services.repositories import case_service

from projection_support import MASTER_KEY, NOW, Writer, at, caught_up_runner, place

RM_TABLES = ("rm_cases", "rm_payments", "rm_promises", "rm_contact_stats", "rm_breaches",
             "rm_audit")


async def _write_cases(pool: asyncpg.Pool, tenant: str, count: int) -> None:
    writer = Writer(pool, tenant)
    for index in range(count):
        case = place(tenant, f"R{index}")
        case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                            occurred_at=at("2026-01-15T15:00"), agent_id="ann", now=NOW)
        case.receive_payment(external_id="P1", amount=1_000 + index, currency="USD",
                             received_at=at("2026-01-20"), method="ach", now=NOW)
        await writer.save(case)


async def _totals(pool: asyncpg.Pool, tenant: str) -> tuple[int, ...]:
    return tuple(await pool.fetchrow(
        """SELECT (SELECT coalesce(sum(paid_total), 0) FROM rm_cases WHERE tenant_id = $1),
                  (SELECT count(*) FROM rm_payments WHERE tenant_id = $1),
                  (SELECT coalesce(sum(attempts), 0) FROM rm_contact_stats WHERE tenant_id = $1),
                  (SELECT count(*) FROM rm_audit WHERE tenant_id = $1),
                  (SELECT count(DISTINCT seq) FROM rm_audit WHERE tenant_id = $1)""", tenant))


class CrashingCases(CasesProjection):
    """Writes its rows, then dies before the batch commits, on the chosen batches."""

    def __init__(self, crash_on: set[int]) -> None:
        self.crash_on, self.calls = crash_on, 0

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        self.calls += 1
        await super().apply(conn, batch)
        if self.calls in self.crash_on:
            raise RuntimeError("killed mid-batch")


async def test_a_runner_killed_mid_batch_and_restarted_counts_every_event_once(own_pool, tenant):
    await _write_cases(own_pool, tenant, 40)  # 120 events
    store = EventStore(own_pool)
    crashing = CrashingCases(crash_on={2, 3})
    runner = ProjectionRunner(own_pool, store, [crashing, *all_projections()[1:]], batch_size=25,
                              takeover_interval=0.1)
    await runner.start()
    await runner.wait_until_caught_up()
    assert crashing.calls >= 4  # it crashed twice and carried on from its position
    # Killed between batches too: stop abruptly while catching up more, then restart.
    await _write_cases(own_pool, tenant + "x", 40)
    await runner.stop()
    second = ProjectionRunner(own_pool, store, all_projections(), batch_size=25)
    await second.start()
    await second.wait_until_caught_up()
    await second.stop()
    expected_paid = sum(1_000 + i for i in range(40))
    assert await _totals(own_pool, tenant) == (expected_paid, 40, 40, 120, 120)
    assert await _totals(own_pool, tenant + "x") == (expected_paid, 40, 40, 120, 120)


async def test_two_runners_own_each_projection_once_and_the_survivor_takes_over(own_pool, tenant):
    store = EventStore(own_pool)
    first = ProjectionRunner(own_pool, store, all_projections(), takeover_interval=0.2)
    second = ProjectionRunner(own_pool, store, all_projections(), takeover_interval=0.2)
    await first.start()
    await asyncio.sleep(0.5)
    await second.start()
    await asyncio.sleep(0.6)
    assert set(first.owned) == set(NAMES) and not second.owned
    await first.stop()
    started = time.monotonic()
    while set(second.owned) != set(NAMES):
        assert time.monotonic() - started < 3, second.owned
        await asyncio.sleep(0.05)
    await _write_cases(own_pool, tenant, 5)
    await second.wait_until_caught_up()
    assert (await _totals(own_pool, tenant))[3] == 15
    await second.stop()


async def test_lag_is_reported_during_a_burst_and_falls_to_zero(own_pool, tenant):
    runner = await caught_up_runner(own_pool)
    await _write_cases(own_pool, tenant, 30)
    await asyncio.sleep(0.2)
    behind = await lags(own_pool, NAMES)
    assert all(lag.positions_behind == 90 and lag.seconds_behind >= 0.2 for lag in behind)
    await runner.start()
    await runner.wait_until_caught_up(timeout=10)
    caught_up = await lags(own_pool, NAMES)
    assert all(lag.positions_behind == 0 and lag.seconds_behind == 0 for lag in caught_up)
    assert all(b.events_applied + 90 == c.events_applied for b, c in zip(behind, caught_up))
    await runner.stop()


async def test_an_event_hidden_behind_an_older_open_transaction_counts_as_lag(own_pool, tenant):
    # Clients wait on /ready for their own writes: "caught up" must not be reported while the
    # projection cannot yet read a committed event (the feed stops at the oldest open xid).
    runner = await caught_up_runner(own_pool)
    async with own_pool.acquire() as other:
        async with other.transaction():
            await other.fetchval("SELECT pg_current_xact_id()")  # older than the write below
            await _write_cases(own_pool, tenant, 1)
            hidden = await lags(own_pool, NAMES)
    assert all(lag.positions_behind == 3 for lag in hidden), hidden
    await runner.start()
    await runner.wait_until_caught_up(timeout=10)
    await runner.stop()


async def test_two_schedulers_racing_mark_a_broken_promise_once(own_pool, tenant):
    writer = Writer(own_pool, tenant)
    case = place(tenant, "P")
    case.make_promise(amount=5_000, due_date=date(2026, 2, 1), made_at=at("2026-01-20"), now=NOW)
    await writer.save(case)
    runner = ProjectionRunner(own_pool, EventStore(own_pool), all_projections())
    await runner.start()
    await runner.wait_until_caught_up()
    services = [case_service(EventStore(own_pool), MASTER_KEY, clock=lambda: NOW) for _ in range(2)]
    results = await asyncio.gather(*(tick(own_pool, s, NOW) for s in services))
    assert sorted(results) == [0, 1]
    await runner.wait_until_caught_up()
    assert await tick(own_pool, services[0], NOW) == 0
    await runner.stop()
    events = await own_pool.fetch(
        "SELECT actor FROM stored_events WHERE originator_id = $1 AND topic LIKE '%PromiseBroken'",
        case.id)
    assert [e[0] for e in events] == ["system:scheduler"]
    assert await own_pool.fetchval(
        "SELECT promise_status FROM rm_cases WHERE case_id = $1", case.id) == "broken"


async def test_an_event_of_another_stream_type_in_the_feed_does_not_stop_the_projections(
        own_pool, tenant):
    # A topic no module here resolves: another application's stream, or a newer release's.
    store = EventStore(own_pool)
    await store.append(
        [NewEvent(uuid.uuid4(), 1, "elsewhere.module:Thing.Happened", b'{"timestamp":"x"}')],
        tenant_id=tenant, actor="someone-else")
    await _write_cases(own_pool, tenant, 3)
    runner = ProjectionRunner(own_pool, store, all_projections())
    await runner.start()
    try:
        await runner.wait_until_caught_up(timeout=10)
    finally:
        await runner.stop()
    paid, payments, attempts, audit_rows, _ = await _totals(own_pool, tenant)
    assert (paid, payments, attempts) == (1_000 + 1_001 + 1_002, 3, 3)
    assert audit_rows == 1 + 3 * 3  # the foreign event is listed, by its type, in the trail


class SlowCases(CasesProjection):
    """Takes its time over each batch, so a stop arrives while one is being applied."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        self.started.set()
        await asyncio.sleep(0.5)
        await super().apply(conn, batch)


async def test_stopping_lets_the_batch_being_applied_commit(own_pool, tenant):
    store = EventStore(own_pool)
    catch_up = ProjectionRunner(own_pool, store, all_projections())
    await catch_up.start()
    await catch_up.wait_until_caught_up()
    await catch_up.stop()
    before = {lag.name: lag.events_applied for lag in await lags(own_pool, ["cases"])}
    await _write_cases(own_pool, tenant, 4)
    slow = SlowCases()
    runner = ProjectionRunner(own_pool, store, [slow])
    await runner.start()
    await asyncio.wait_for(slow.started.wait(), timeout=10)
    await runner.stop()  # arrives mid-batch
    after = {lag.name: lag.events_applied for lag in await lags(own_pool, ["cases"])}
    assert after["cases"] == before["cases"] + 4 * 3
