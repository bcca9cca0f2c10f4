"""Event store benchmark: ``python -m bench.store [--quick] [--url URL]`` (see bench/README.md).

Starts an embedded PostgreSQL 18 (or uses the server at ``--url``), creates a scratch database,
and measures in one run: appends (ours / eventsourcing recorder / raw COPY) at several writer
counts and batch sizes, catch-up read+decode, and loading a 50-event aggregate. Prints medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench import appends, reads
from bench.scratch import scratch_database
from bench.model import sample_payment_event
from ledger.eventstore import EventCodec


def library_env(url: str, pool_size: int) -> dict[str, str]:
    """eventsourcing settings reaching the same database as ``url``."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": query.get("host", [parts.hostname or "localhost"])[0],
        "POSTGRES_PORT": query.get("port", [str(parts.port or 5432)])[0],
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
    }


def library_app(url: str, pool_size: int) -> Any:
    from eventsourcing.application import Application

    class BenchApp(Application):  # table benchapp_events in the scratch database
        pass

    return BenchApp(env=library_env(url, pool_size))


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


PARTS = ("appends", "copy", "catchup", "load")


async def run_appends(url: str, args: argparse.Namespace, state: bytes,
                      results: dict[str, Any]) -> None:
    results["appends"] = []
    for writers in args.writers:
        app = library_app(url, writers)
        for per_txn in (1, 5):
            ours = statistics.median([await appends.ours(url, writers, per_txn, args.duration,
                                                         state) for _ in range(args.runs)])
            pooled = statistics.median([await appends.ours(
                url, writers, per_txn, args.duration, state, held=False)
                for _ in range(args.runs)])
            lib = median_of(args.runs, lambda: appends.library(
                app.recorder, writers, per_txn, args.duration, state))
            row = {"writers": writers, "events_per_txn": per_txn, "ours": ours,
                   "ours_pool_per_statement": pooled, "eventsourcing": lib}
            if args.processes > 1 and writers >= args.processes:
                row["ours_processes"] = median_of(args.runs, lambda: appends.ours_in_processes(
                    url, args.processes, writers, per_txn, args.duration, state))
            results["appends"].append(row)
            print(f"append {writers:>2} writers x {per_txn}/txn: ours {ours:,.0f}/s "
                  f"(pool per statement {pooled:,.0f}/s, {args.processes} processes "
                  f"{row.get('ours_processes', 0):,.0f}/s), eventsourcing {lib:,.0f}/s, "
                  f"ratio {ours / lib:.1f}x", flush=True)
        app.close()


async def run_catch_up(url: str, args: argparse.Namespace, app: Any,
                       results: dict[str, Any]) -> None:
    await reads.fill_ours(url, args.events)
    reads.fill_library(app, args.events)
    # Ours and the library's alternate run by run, so a change in the machine's load
    # falls on both sides alike. Ours runs twice a turn: with CPython's collector defaults and
    # with the settings `ledger project` and `ledger deliver` use (workers/gc_tuning.py).
    ours, worker, lib = [], [], []
    for _ in range(args.runs):
        ours.append(await reads.catch_up_ours(url))
        with reads.worker_gc():
            worker.append(await reads.catch_up_ours(url))
        lib.append(reads.catch_up_library(app))
    results["catch_up"] = {"events": ours[0][0],
                           "ours": statistics.median(r[1] for r in ours),
                           "ours_worker_gc": statistics.median(r[1] for r in worker),
                           "eventsourcing": statistics.median(r[1] for r in lib)}

    def listed(runs: list[tuple[int, float]]) -> str:
        return ", ".join(f"{r[1]:,.0f}" for r in runs)

    figures = results["catch_up"]
    print(f"catch-up {ours[0][0]:,} events: ours {figures['ours']:,.0f}/s, "
          f"ours with the workers' GC settings {figures['ours_worker_gc']:,.0f}/s, "
          f"eventsourcing {figures['eventsourcing']:,.0f}/s (runs: ours {listed(ours)}; "
          f"worker GC {listed(worker)}; eventsourcing {listed(lib)})", flush=True)


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    state = EventCodec().encode(sample_payment_event()).state
    results: dict[str, Any] = {"state_bytes": len(state)}
    if "appends" in args.only:
        await run_appends(url, args, state, results)
    if "copy" in args.only:
        results["copy"] = statistics.median(
            [await appends.raw_copy(url, args.events, state) for _ in range(args.runs)])
        print(f"raw COPY {args.events:,} rows: {results['copy']:,.0f} rows/s", flush=True)
    app = library_app(url, 2)
    try:
        if "catchup" in args.only:
            await run_catch_up(url, args, app, results)
        if "load" in args.only:
            results["load_50_ms"] = {
                "ours": statistics.median([await reads.load_ours(url, 50, args.repeats)
                                           for _ in range(args.runs)]),
                "eventsourcing": median_of(
                    args.runs, lambda: reads.load_library(app, 50, args.repeats)),
            }
            print(f"load 50-event aggregate: ours {results['load_50_ms']['ours']:.3f} ms, "
                  f"eventsourcing {results['load_50_ms']['eventsourcing']:.3f} ms", flush=True)
    finally:
        app.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="server to use (maintenance database URL); "
                        "default: start an embedded PostgreSQL 18")
    parser.add_argument("--quick", action="store_true", help="one short run of everything")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per append run")
    parser.add_argument("--writers", type=lambda s: [int(w) for w in s.split(",")],
                        default=[1, 8, 32])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300, help="loads per load measurement")
    parser.add_argument("--processes", type=int, default=2,
                        help="also run our writers split over this many processes (1: skip)")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="event loop for our side (uvicorn[standard] serves the API on "
                             "uvloop); the library's recorder is synchronous either way")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--only", type=lambda s: s.split(","), default=list(PARTS),
                        help=f"comma-separated parts to run, of {','.join(PARTS)} (default all)")
    args = parser.parse_args()
    if unknown := set(args.only) - set(PARTS):
        parser.error(f"unknown part(s) for --only: {', '.join(sorted(unknown))}")
    appends.LOOP = args.loop
    if args.quick:
        args.runs, args.duration, args.events, args.repeats = 1, 0.5, 20_000, 50

    with open("/proc/loadavg") as load:
        print("load average before:", load.read().split()[:3], "loop:", args.loop, flush=True)
    async with scratch_database(args.url) as (url, admin):
        print("server:", await admin.fetchval("SELECT version()"), flush=True)
        results = await run(url, args)
        results["server"] = await admin.fetchval("SHOW server_version")
        with open("/proc/loadavg") as load:
            results["load_average_after"] = load.read().split()[:3]
        print("load average after:", results["load_average_after"], flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))

def _run_on_chosen_loop() -> None:
    if "--loop=asyncio" not in sys.argv and not (
            "--loop" in sys.argv and sys.argv[sys.argv.index("--loop") + 1] == "asyncio"):
        import uvloop

        uvloop.install()
    asyncio.run(main())


if __name__ == "__main__":
    _run_on_chosen_loop()
