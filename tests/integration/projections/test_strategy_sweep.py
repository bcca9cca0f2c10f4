"""Re-segmentation: on activation, on a new score, as days pass; restartable; arms stable."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from ledger.domain.case import Case
from ledger.domain.strategy.document import StrategyDocument
from ledger.eventstore import EventStore
from ledger.projections import strategy_metrics
from ledger.projections.cases import CasesProjection
from ledger.projections.rebuild import rebuild
from ledger.projections.strategies import StrategiesProjection
from ledger.services.cases import CaseService, Context
from ledger.services.resegment import Resegmenter
from ledger.services.strategies import StrategyService
from ledger.services.repositories import case_repository
from ledger.services.strategy_sweep import sweep_all, sweep_tenant
from ledger.workers import PoisonGuard
from projection_support import MASTER_KEY, Writer, place, project_all

NOW = datetime(2026, 9, 1, 15, 0, tzinfo=UTC)
DOCUMENT = {
    "name": "cards", "portfolios": ["cards-a"],
    "segments": [
        {"name": "scored", "when": {"score": {"model": "fico", "min": 700}},
         "steps": [{"day": 0, "action": "call"}]},
        {"name": "late", "when": {"dpd_min": 91}, "steps": [{"day": 0, "action": "call"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}, {"day": 3, "action": "review"}]},
    ],
    "challenger": {"split": 0.5, "segments": [
        {"name": "late", "when": {"dpd_min": 91}, "steps": [{"day": 0, "action": "call"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}]},
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _render(case: Case, _: object) -> tuple[int, bytes]:
    return 200, b""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wired(own_pool, clock):  # type: ignore[no-untyped-def]
    repository = case_repository(EventStore(own_pool), MASTER_KEY)
    cases = CaseService(repository, clock)
    strategies = StrategyService(repository, own_pool, clock)
    cases.follow_up = Resegmenter(strategies)
    return cases, strategies


async def _activate(strategies: StrategyService, tenant: str) -> None:
    ctx = Context(tenant, "user:test", uuid.uuid4())
    strategy, version, *_ = await strategies.save(ctx, msgspec.convert(DOCUMENT, StrategyDocument),
                                                 templates=None)
    await strategies.activate(ctx, strategy.id, version)


async def _project(pool, tenant: str, cases: int) -> None:  # type: ignore[no-untyped-def]
    """Project until the tenant's cases are all read (the feed holds back rows while any
    transaction on the server is open, so one pass may stop short)."""
    for _ in range(200):
        await project_all(pool, [CasesProjection(), StrategiesProjection()])
        if await pool.fetchval("SELECT count(*) FROM rm_cases WHERE tenant_id = $1", tenant) == cases:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("cases projection did not catch up")


async def _thirty_placed_under_a_strategy(pool, strategies, prefix: str):
    """A fresh tenant with 30 cases placed, projected, and a strategy activated (not swept)."""
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    placed = [place(tenant, f"{prefix}-{i}", placed_at="2026-08-01", days_past_due=40 + i * 5)
              for i in range(30)]
    await Writer(pool, tenant).save(*placed)
    await _project(pool, tenant, 30)
    await _activate(strategies, tenant)
    return tenant, placed


async def test_activation_re_segments_existing_cases_once(own_pool, wired, clock) -> None:
    cases, strategies = wired
    tenant, placed = await _thirty_placed_under_a_strategy(own_pool, strategies, "A")
    first = await sweep_tenant(own_pool, cases, strategies, tenant)
    assert (first.cases_seen, first.cases_moved) == (30, 30)
    again = await sweep_tenant(own_pool, cases, strategies, tenant)
    assert again.cases_moved == 0
    loaded = await cases.load_many(tenant, [c.id for c in placed])
    arms = {c.segment_entry.arm for c in loaded.values()}  # type: ignore[union-attr]
    assert arms == {"champion", "challenger"}
    rows = await cases.repository.store.read_stream(placed[0].id)
    assert [r.actor for r in rows if r.topic.endswith("SegmentEntered")] == ["system:strategy"]


async def test_a_score_moves_a_case_and_a_day_passing_moves_another(own_pool, wired, clock) -> None:
    cases, strategies = wired
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await _activate(strategies, tenant)
    ctx = Context(tenant, "user:test", uuid.uuid4())
    # placed yesterday with 88 days past due: 89 today ("rest"), 91 in two days ("late")
    ageing = place(tenant, "AGE", placed_at="2026-08-31T09:00", days_past_due=88)
    scored = place(tenant, "SCORED", placed_at="2026-08-31T09:00")
    for case in (ageing, scored):
        await cases.place(ctx, case, _render, lambda *_: (200, b""))
    assert (await cases.load(tenant, scored.id)).segment_entry.segment == "rest"  # type: ignore[union-attr]
    await cases.execute(ctx, scored.id, lambda c, now: c.record_score(
        model="fico", value=720, model_version="9", scored_at=now - timedelta(minutes=1), now=now),
        _render)
    moved = (await cases.load(tenant, scored.id)).segment_entry
    assert moved is not None
    assert moved.segment == ("scored" if moved.arm == "champion" else "rest")
    await _project(own_pool, tenant, 2)
    clock.now = NOW + timedelta(days=2)
    swept = await sweep_tenant(own_pool, cases, strategies, tenant)
    assert swept.cases_seen == 2
    assert (await cases.load(tenant, ageing.id)).segment_entry.segment == "late"  # type: ignore[union-attr]


async def test_a_restart_changes_no_arm_and_a_sweep_resumes_after_its_last_batch(own_pool, wired, clock) -> None:
    cases, strategies = wired
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    placed = [place(tenant, f"R-{i}", placed_at="2026-08-01") for i in range(20)]
    await Writer(own_pool, tenant).save(*placed)
    await _project(own_pool, tenant, 20)
    await _activate(strategies, tenant)
    ordered = sorted(c.id for c in placed)
    # as if a previous process stopped after its first batch of 8 cases
    await own_pool.execute("UPDATE strategy_sweeps SET after_case = $2 WHERE tenant_id = $1",
                           tenant, ordered[7])
    resumed = await sweep_tenant(own_pool, cases, strategies, tenant, batch=5)
    assert resumed.cases_seen == 12
    before = await cases.load_many(tenant, ordered)
    assert all(before[i].segment_entry is None for i in ordered[:8])
    # a "restarted" process: new services, new caches; every arm comes out the same
    repository = case_repository(EventStore(own_pool), MASTER_KEY)
    restarted = StrategyService(repository, own_pool, clock)
    active = await restarted.active(tenant)
    again = await CaseService(repository, clock).load_many(tenant, ordered[8:])
    for case_id, case in again.items():
        recorded = case.segment_entry
        assert case.resegment(active, clock()) is None
        assert recorded.arm == before[case_id].segment_entry.arm  # type: ignore[union-attr]


async def test_a_tenant_whose_cases_cannot_be_opened_is_quarantined_and_the_others_are_swept(
        own_pool, wired, clock) -> None:
    cases, strategies = wired
    good, bad = (f"t-{uuid.uuid4().hex[:8]}" for _ in range(2))
    await Writer(own_pool, good).save(*[place(good, f"G-{i}", placed_at="2026-08-01") for i in range(3)])
    # written by a process holding another master key: this one cannot open their data keys
    foreign = case_repository(EventStore(own_pool), os.urandom(32))
    await foreign.save(*[place(bad, f"B-{i}", placed_at="2026-08-01") for i in range(3)], tenant_id=bad)
    await _project(own_pool, good, 3)
    await _project(own_pool, bad, 3)
    for tenant in (good, bad):
        await _activate(strategies, tenant)
    guard = PoisonGuard(own_pool, f"sweep-test-{uuid.uuid4().hex[:6]}")
    first = await sweep_all(own_pool, cases, strategies, guard=guard, only={good, bad})
    assert first.cases_seen == 3 and first.cases_moved == 3  # the good tenant, whole
    for _ in range(2):
        await sweep_all(own_pool, cases, strategies, guard=guard, only={good, bad})
    assert await guard.held() == {f"tenant:{bad}"}


async def test_a_version_that_drops_a_portfolio_moves_its_cases_out_and_metrics_follow(
        own_pool, wired, clock) -> None:
    cases, strategies = wired
    tenant, placed = await _thirty_placed_under_a_strategy(own_pool, strategies, "L")
    await sweep_tenant(own_pool, cases, strategies, tenant)
    await _project(own_pool, tenant, 30)
    ctx = Context(tenant, "user:test", uuid.uuid4())
    clock.now = NOW + timedelta(hours=1)
    dropped = msgspec.convert(DOCUMENT | {"portfolios": ["cards-b"]}, StrategyDocument)
    strategy, version, *_ = await strategies.save(ctx, dropped, templates=None)
    await strategies.activate(ctx, strategy.id, version)
    left = await sweep_tenant(own_pool, cases, strategies, tenant)
    assert (left.cases_seen, left.cases_moved) == (30, 30)
    paid = placed[0]
    assert (await cases.load(tenant, paid.id)).segment_entry is None
    rows = await cases.repository.store.read_stream(paid.id)
    assert [(r.topic.rsplit(".", 1)[-1], r.actor) for r in rows][-2:] == [
        ("SegmentEntered", "system:strategy"), ("SegmentLeft", "system:strategy")]
    clock.now = NOW + timedelta(hours=2)
    await cases.execute(ctx, paid.id, lambda c, now: c.receive_payment(
        external_id="after", amount=1_000, currency="USD", received_at=now - timedelta(minutes=1),
        method="card", now=now), _render)
    await _project(own_pool, tenant, 30)
    assert await own_pool.fetchval(
        "SELECT count(*) FROM rm_case_segments WHERE tenant_id = $1", tenant) == 0
    # the payment came after the exit: it counts under "none", and so does every case
    groups = {r[0]: tuple(r[1:]) for r in await strategy_metrics.recovery(
        own_pool, tenant, "segment", None, None)}
    assert list(groups) == ["none"] and groups["none"][1:3] == (1_000, 30)
    # days later the sweep looks at no case of the dropped portfolio any more
    clock.now = NOW + timedelta(days=2)
    assert (await sweep_tenant(own_pool, cases, strategies, tenant)).cases_seen == 0
    before = await _strategy_tables(own_pool)  # and a rebuild gives the same tables
    await rebuild(own_pool, [StrategiesProjection(cache_cases=4)], batch_size=9)
    assert await _strategy_tables(own_pool) == before


async def _strategy_tables(pool) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    return {table: sorted((tuple(r) for r in await pool.fetch(f"SELECT * FROM {table}")), key=repr)
            for table in StrategiesProjection.tables}


async def test_a_rebuild_reproduces_the_strategy_tables_whatever_its_cache_holds(
        own_pool, wired, clock) -> None:
    cases, strategies = wired
    tenant, placed = await _thirty_placed_under_a_strategy(own_pool, strategies, "S")
    await sweep_tenant(own_pool, cases, strategies, tenant)
    ctx = Context(tenant, "user:test", uuid.uuid4())
    for i, case in enumerate(placed[:12]):
        await cases.execute(ctx, case.id, lambda c, now, i=i: c.record_contact(
            channel="phone" if i % 2 else "sms", direction="outbound",
            outcome="right_party" if i % 3 else "no_answer", agent_id="ann",
            occurred_at=now - timedelta(hours=i), now=now), _render)
    for case in placed[12:16]:
        await cases.execute(ctx, case.id, lambda c, now: c.assign(
            assigned_at=now - timedelta(minutes=5), agent_id="bob"), _render)
    await cases.execute(ctx, placed[16].id, lambda c, now: c.close(
        reason="recalled", closed_at=now - timedelta(minutes=1), now=now), _render)
    await _project(own_pool, tenant, 30)
    before = await _strategy_tables(own_pool)
    assert before["rm_dialer"] and before["rm_segment_contacts"] and before["rm_case_segments"]
    # A cache smaller than a batch: cases leave it (written) and come back (read) mid-load.
    for projection in (StrategiesProjection(), StrategiesProjection(cache_cases=4)):
        await rebuild(own_pool, [projection], batch_size=9)
        assert await _strategy_tables(own_pool) == before
