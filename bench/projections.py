"""Projection benchmarks: rebuild throughput and memory, metrics latency, live lag.

    python -m bench.projections                  # 100,000 cases = 1,000,000 events
    python -m bench.projections --cases 10000    # a quick run
    python -m bench.projections --only rebuild   # the rebuild phase alone

1. rebuild: ``rebuild(all projections)`` from a synthetic log (``bench.projections_data``),
   vacuumed first as autovacuum would have (``settle``; ``--unsettled`` skips it);
   events/s over the whole rebuild (load, index build and swap), RSS sampled every 0.2 s.
2. queries: every metrics query and a case-list/work-queue page on the rebuilt read models
   (one tenant holding all cases), 50 runs each, p50/p95.
3. lag: the projection runner in a worker process (as ``ledger project`` runs it), then in
   this process (as inside ``ledger serve``), while tasks append contacts through
   ``CaseService`` (the API's write path, without HTTP) at ``--rate`` events/s;
   lag = batch commit time − the event's record time, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import projections_data
from bench.scratch import scratch_database
from ledger.config import Settings
from ledger.db.pool import create_pool
from ledger.eventstore import EventStore
from ledger.projections import ProjectionRunner, all_projections
from ledger.projections.registry import NAMES
from ledger.projections import metric_queries as mq
from ledger.projections import queries
from ledger.projections.rebuild import Progress, pool_size, rebuild
from ledger.services.cases import Context
from ledger.services.repositories import case_service
from ledger.workers.gc_tuning import REBUILD_YOUNG_THRESHOLD, tune_for_throughput

TENANT = "bench"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def settle(pool: Any) -> None:
    """Leave the freshly copied log as autovacuum leaves any log older than a few minutes:
    vacuumed (hint and visibility bits set) and analyzed, its pages written out. Otherwise the
    rebuild's first read sets the hint bits of a million new rows, dirtying every page of the
    log again: a cost of having just bulk-copied the log, which a rebuild of a running
    system's log does not pay (``--unsettled`` measures it anyway: ~15% slower here)."""
    await pool.execute("VACUUM (ANALYZE) stored_events")
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # needs pg_checkpoint
        await pool.execute("CHECKPOINT")


async def bench_rebuild(pool: Any, events: int) -> dict[str, float]:
    process = psutil.Process()
    samples: list[int] = []

    async def sample() -> None:
        while True:
            samples.append(process.memory_info().rss)
            await asyncio.sleep(0.2)

    tune_for_throughput(REBUILD_YOUNG_THRESHOLD)  # as ``ledger rebuild`` does
    sampler = asyncio.create_task(sample())
    started, cpu = time.perf_counter(), time.process_time()
    position = await rebuild(pool, all_projections(), batch_size=5000,
                             on_progress=lambda p: print(f"  {p.applied:,} events, "
                                                         f"{p.events_per_second:,.0f}/s",
                                                         flush=True),
                             progress_every=5.0)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    sampler.cancel()
    assert position.events_applied == events, (position, events)
    tenth = max(1, len(samples) // 10)
    return {"events": events, "seconds": round(elapsed, 1),
            "events_per_second": round(events / elapsed),
            "python_cpu_seconds": round(cpu, 1),
            "rss_first_tenth_mb": round(max(samples[:tenth]) / 2**20),
            "rss_last_tenth_mb": round(max(samples[-tenth:]) / 2**20),
            "rss_peak_mb": round(max(samples) / 2**20)}


async def bench_queries(pool: Any) -> dict[str, dict[str, float]]:
    now = datetime.now(UTC)
    mar, apr = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    shapes: dict[str, Callable[[], Awaitable[Any]]] = {
        f"recovery by {g}": (lambda g=g: mq.recovery(pool, TENANT, g, None, None))
        for g in ("portfolio", "cohort", "agent", "channel")}
    shapes |= {
        "liquidation": lambda: mq.liquidation(pool, TENANT, mar, apr, 20),
        "promises by agent": lambda: mq.promises(pool, TENANT, "agent", None, None),
        "contacts by channel": lambda: mq.contacts(pool, TENANT, "channel", None, None),
        "roll rates": lambda: mq.roll_rates(pool, TENANT, mar, apr),
        "case list page (bucket filter)": lambda: queries.list_cases(
            pool, TENANT, now, status=None, portfolio=None, assigned_to=None,
            dpd_bucket="91-120", external_ref=None, after=None, limit=51),
        "work queue (one agent)": lambda: queries.work_queue(pool, TENANT, now, "agent-7", 50),
    }
    results = {}
    for name, run in shapes.items():
        await run()  # warm the cache and the statement
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            await run()
            timings.append((time.perf_counter() - started) * 1000)
        results[name] = {"p50_ms": round(statistics.median(timings), 1),
                         "p95_ms": round(percentile(timings, 0.95), 1)}
        print(f"  {name}: p50 {results[name]['p50_ms']} ms, p95 {results[name]['p95_ms']} ms",
              flush=True)
    return results


async def _follow_in_child(url: str, ready: Any, stop: Any, out: str) -> None:
    pool = await create_pool(url, min_size=2, max_size=8)
    store = EventStore(pool, cross_process_wakeups=True)
    await store.start()
    runner = ProjectionRunner(pool, store, all_projections())
    await runner.start()
    await runner.wait_until_caught_up(timeout=600)
    runner.lag_samples.clear()
    ready.set()
    await asyncio.to_thread(stop.wait)
    await runner.wait_until_caught_up(timeout=60)
    await runner.stop()
    Path(out).write_text(json.dumps(list(runner.lag_samples)))
    await store.close()
    await pool.close()


def _runner_process(url: str, ready: Any, stop: Any, out: str) -> None:
    """``ledger project`` in miniature: the projection worker as its own process."""
    asyncio.run(_follow_in_child(url, ready, stop, out))


async def bench_lag(pool: Any, url: str, rate: int, seconds: float, cases: int,
                    separate: bool) -> dict[str, float]:
    """Appends through ``CaseService`` paced at ``rate``; the runner in this process or
    (``separate``) in a worker process, as ``ledger serve`` + ``ledger project`` run it."""
    store = EventStore(pool, cross_process_wakeups=separate)
    await store.start()
    service = case_service(store, os.urandom(32), snapshot_interval=50)
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    out = tempfile.mktemp(prefix="ledger-bench-lag-", suffix=".json")  # noqa: S306 - ours
    child, runner = None, None
    if separate:
        child = context.Process(target=_runner_process, args=(url, ready, stop, out))
        child.start()
        await asyncio.to_thread(ready.wait, 900)
    else:
        runner = ProjectionRunner(pool, store, all_projections())
        await runner.start()
        await runner.wait_until_caught_up(timeout=600)
        runner.lag_samples.clear()
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, f"{TENANT}/{i}") for i in range(cases)]
    ctx = Context(TENANT, "bench:lag", uuid.uuid4())
    writers, sent = 16, 0
    interval = writers / rate

    def contact(case: Any, now: datetime) -> None:
        case.record_contact(channel="email", direction="outbound", outcome="delivered",
                            occurred_at=now - timedelta(seconds=1), agent_id="agent-0", now=now)

    async def writer(offset: int) -> None:
        nonlocal sent
        deadline, next_at, index = time.monotonic() + seconds, time.monotonic(), offset
        while time.monotonic() < deadline:
            await service.execute(ctx, ids[index % len(ids)], contact, lambda c, r: (201, b""))
            sent += 1
            index += writers
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    started = time.monotonic()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    achieved = sent / (time.monotonic() - started)
    if child is not None:
        stop.set()
        await asyncio.to_thread(child.join, 120)
        samples = [s * 1000 for s in json.loads(Path(out).read_text())]
        Path(out).unlink()
    else:
        assert runner is not None
        await runner.wait_until_caught_up(timeout=60)
        await runner.stop()
        samples = [s * 1000 for s in runner.lag_samples]
    await store.close()
    return {"runner": "separate process" if separate else "same process",
            "appended_events_per_second": round(achieved), "samples": len(samples),
            "p50_ms": round(statistics.median(samples), 1),
            "p99_ms": round(percentile(samples, 0.99), 1)}


async def run(url: str, args: argparse.Namespace) -> None:
    # As ``ledger rebuild --all`` sizes its pool, with the default LEDGER_POOL_MAX_SIZE.
    pool = await create_pool(url, min_size=4,
                             max_size=pool_size(len(NAMES), Settings().pool_max_size))
    try:
        print(f"writing {args.cases:,} cases ({args.cases * 10:,} events) …", flush=True)
        started = time.perf_counter()
        events = await projections_data.write(pool, TENANT, args.cases)
        print(f"  written in {time.perf_counter() - started:.0f} s", flush=True)
        if not args.unsettled:
            await settle(pool)
        print("rebuild of all projections:", flush=True)
        print(" ", await bench_rebuild(pool, events), flush=True)
        if args.only == "rebuild":
            return
        print("metrics queries:", flush=True)
        await bench_queries(pool)
        print(f"lag at {args.rate} appended events/s for {args.seconds:.0f} s:", flush=True)
        for separate in (True, False):
            print(" ", await bench_lag(pool, url, args.rate, args.seconds,
                                       min(args.cases, 20_000), separate), flush=True)
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server (maintenance database URL); default: embedded")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--unsettled", action="store_true",
                        help="rebuild straight after copying the log in (no VACUUM first)")
    parser.add_argument("--only", choices=["rebuild"],
                        help="stop after this phase (a quick rebuild figure)")
    args = parser.parse_args()
    async with scratch_database(args.url) as (url, _):
        await run(url, args)

if __name__ == "__main__":
    asyncio.run(main())
