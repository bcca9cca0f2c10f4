"""Contact-strategy benchmarks: the re-segmenting sweep and the dialer list at scale.

    python -m bench.strategies                  # 100,000 cases
    python -m bench.strategies --cases 10000    # a quick run

1. Placement: ``--cases`` cases (five time zones, twelve agents, varied balances and days
   past due) stored through the domain and the store, then the cases and strategies read
   models brought up to date (the sweep and the dialer list read them).
2. Sweep after an activation: a strategy with a 20% challenger is activated and one sweep
   re-evaluates every case (all of them enter a segment: one append per batch of 500).
3. Sweep as a day passes: the clock moves a day; every time zone's local date changed, so the
   sweep re-evaluates every case again (only those whose segment changed append).
4. Dialer list: ``dialer_list(limit=1000)`` (the route's service call, database included),
   at an instant when every zone is in calling hours, 30 runs after a warm-up: p50/p95 of
   wall time, and the median CPU time of this process (the rest is waiting: the database,
   and on a shared machine the other processes). Also one agent's list (~1/12 of the cases).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from bench.scratch import scratch_database
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.strategy.document import StrategyDocument
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore, Repository
from ledger.services.repositories import case_repository
from ledger.projections import ProjectionRunner, all_projections
from ledger.services.cases import CaseService, Context, case_id_for
from ledger.services.dialer import dialer_list
from ledger.services.strategies import StrategyService
from ledger.services.strategy_sweep import sweep_tenant

TENANT = "bench"
ZONES = [("America/New_York", "US-NY"), ("America/Chicago", "US-TX"),
         ("America/Denver", "US-CO"), ("America/Los_Angeles", "US-CA"), ("Europe/London", "GB")]
NOW = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York ... 17:00 in London
STRATEGY = {
    "name": "bench", "portfolios": ["bench-p"],
    "segments": [
        {"name": "early", "when": {"dpd_max": 30}, "steps": [{"day": 0, "action": "call"},
                                                            {"day": 3, "action": "call"}]},
        {"name": "high", "when": {"balance_min": 500_000}, "steps": [{"day": 0, "action": "call"}]},
        {"name": "late", "when": {"dpd_min": 91}, "steps": [{"day": 0, "action": "call"},
                                                           {"day": 21, "action": "escalate"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}],
    "challenger": {"split": 0.2, "segments": [
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}]},
}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _case(index: int) -> Case:
    zone, jurisdiction = ZONES[index % len(ZONES)]
    ref = f"B-{index:07d}"
    case = Case.place(
        case_id=case_id_for(TENANT, ref), tenant_id=TENANT, external_ref=ref, portfolio="bench-p",
        product="credit_card", currency="USD", principal=10_000 + (index * 7919) % 900_000,
        interest=1_000, fees=0, past_due_amount=5_000, days_past_due=(index * 37) % 200,
        placed_at=NOW - timedelta(days=30),
        debtor=Debtor(name="Bench Debtor", phones=(f"+1555{index:07d}",), timezone=zone,
                      jurisdiction=jurisdiction),
        now=NOW)
    case.assign(agent_id=f"agent-{index % 12:02d}", assigned_at=NOW - timedelta(days=29))
    return case


async def _place(repository: Repository, cases: int) -> float:
    started = time.perf_counter()
    for offset in range(0, cases, 1000):
        batch = [_case(i) for i in range(offset, min(cases, offset + 1000))]
        await repository.save(*batch, tenant_id=TENANT, actor="bench")
    return time.perf_counter() - started


async def _catch_up(pool, store, repository) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    runner = ProjectionRunner(pool, store, all_projections(), codec=repository.codec)
    await runner.start()
    await runner.wait_until_caught_up(timeout=1800)
    await runner.stop()
    return time.perf_counter() - started


async def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    pool = await create_pool(url, min_size=2, max_size=12)
    store = EventStore(pool)
    repository = case_repository(store, os.urandom(32))  # debtors sealed, as in production
    clock = Clock()
    cases = CaseService(repository, clock)
    strategies = StrategyService(repository, pool, clock)
    figures: dict[str, object] = {"cases": args.cases}
    try:
        figures["place_s"] = round(await _place(repository, args.cases), 1)
        figures["project_s"] = round(await _catch_up(pool, store, repository), 1)
        ctx = Context(TENANT, "bench", uuid.uuid4())
        document = msgspec.convert(STRATEGY, StrategyDocument)
        strategy, version, *_ = await strategies.save(ctx, document, templates=None)
        await strategies.activate(ctx, strategy.id, version)
        started = time.perf_counter()
        swept = await sweep_tenant(pool, cases, strategies, TENANT)
        figures["sweep_activation"] = {"s": round(time.perf_counter() - started, 1),
                                       "seen": swept.cases_seen, "moved": swept.cases_moved}
        clock.now = NOW + timedelta(days=1)
        started = time.perf_counter()
        swept = await sweep_tenant(pool, cases, strategies, TENANT)
        figures["sweep_day"] = {"s": round(time.perf_counter() - started, 1),
                                "seen": swept.cases_seen, "moved": swept.cases_moved}
        figures["project_entries_s"] = round(await _catch_up(pool, store, repository), 1)
        at = clock.now
        for agent, name in ((None, "dialer_all"), ("agent-03", "dialer_agent")):
            timings, cpu, rows = [], [], 0
            for run_index in range(33):
                started, cpu_started = time.perf_counter(), time.process_time()
                found = await dialer_list(pool, cases, strategies, TENANT, at, 1000, agent)
                if run_index >= 3:
                    timings.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
                rows = len(found)
            figures[name] = {"rows": rows, "p50_ms": round(statistics.median(timings), 1),
                             "p95_ms": round(percentile(timings, 0.95), 1),
                             "cpu_p50_ms": round(statistics.median(cpu), 1)}
    finally:
        await pool.close()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server (maintenance database URL); default: embedded")
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    async with scratch_database(args.url) as (url, _):
        print(json.dumps(await run(url, args), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
