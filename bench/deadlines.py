"""Deadline scheduler capacity: how long one sweep takes over N cases whose promise is overdue.

    python -m bench.deadlines [--cases 100000] [--url postgresql://…/postgres]

Writes ``--cases`` cases, each with a promise due in the past (through the domain and the
sealing repository, in batches), builds rm_cases with a rebuild, then runs one
``DeadlineSweeper.sweep`` and reports cases per second. Bounded: one sweep, one write pass.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime

from bench.scratch import scratch_database
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore
from ledger.projections import by_name
from ledger.projections.deadlines import DeadlineSweeper
from ledger.projections.rebuild import rebuild
from ledger.services.repositories import case_repository, case_service

TENANT = "bench-deadlines"
THEN = datetime(2026, 1, 20, tzinfo=UTC)
NOW = datetime(2026, 9, 1, tzinfo=UTC)
BATCH = 1000


def _case(index: int) -> Case:
    case = Case.place(
        case_id=uuid.uuid4(), tenant_id=TENANT, external_ref=f"DL-{index}", portfolio="p",
        product="card", currency="USD", principal=100_000, interest=0, fees=0,
        past_due_amount=10_000, days_past_due=40, placed_at=THEN,
        debtor=Debtor(name="Bench Debtor", phones=("+15551234567",), timezone="UTC",
                      jurisdiction="US-TX"), now=THEN)
    case.make_promise(amount=5_000, due_date=date(2026, 2, 1 + index % 27), made_at=THEN, now=THEN)
    return case


async def run(url: str, cases: int) -> None:
    master = os.urandom(32)
    pool = await create_pool(url, min_size=2, max_size=8)
    try:
        repository = case_repository(EventStore(pool), master, snapshot_interval=None)
        started = time.perf_counter()
        for first in range(0, cases, BATCH):
            batch = [_case(i) for i in range(first, min(cases, first + BATCH))]
            await repository.save(*batch, tenant_id=TENANT, actor="bench")
        print(f"wrote {cases:,} cases with overdue promises in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        await rebuild(pool, [by_name("cases")])
        print(f"rm_cases built in {time.perf_counter() - started:.0f} s", flush=True)
        service = case_service(EventStore(pool), master, clock=lambda: NOW)
        started = time.perf_counter()
        sweep = await DeadlineSweeper(pool, service).sweep(NOW)
        seconds = time.perf_counter() - started
        print(f"one sweep: {sweep.changed:,} of {sweep.due:,} due cases marked broken in "
              f"{seconds:.1f} s ({sweep.changed / seconds:,.0f} cases/s), {sweep.failed} failed",
              flush=True)
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server (maintenance database URL); default: embedded")
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    async with scratch_database(args.url) as (url, _):
        await run(url, args.cases)


if __name__ == "__main__":
    asyncio.run(main())
