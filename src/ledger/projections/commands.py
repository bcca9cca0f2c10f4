"""The operator commands of the read side: ``ledger project``, ``ledger rebuild``, ``ledger tick``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

import asyncpg

from ledger.config import Settings
from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.db.runtime import database_url, ensure_database_exists
from ledger.eventstore import EventStore
from ledger.projections.deadlines import tick
from ledger.projections.positions import lags
from ledger.projections.rebuild import (SWAP_ATTEMPTS, Progress, RebuildBusy, pool_size,
                                       rebuild)
from ledger.projections.registry import NAMES, all_projections, by_name
from ledger.projections.runner import ProjectionRunner
from ledger.privacy.master import resolve_master_key
from ledger.audit.checkpoint_task import checkpoint_task
from ledger.audit.signing import resolve_signing_key
from ledger.services.repositories import case_service
from ledger.workers import list_quarantine, list_skips
from ledger.workers.gc_tuning import REBUILD_YOUNG_THRESHOLD, tune_for_throughput


async def _pool(settings: Settings, url: str, max_size: int = 4) -> Any:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    await migrate(url)
    return await create_pool(url, min_size=2, max_size=max(max_size, settings.pool_min_size))


async def _project(settings: Settings, url: str, names: list[str]) -> int:
    pool = await _pool(settings, url)
    store = EventStore(pool, cross_process_wakeups=True)
    await store.start()
    runner = ProjectionRunner(pool, store, [by_name(n) for n in names])
    signing_key = resolve_signing_key(settings)  # signed checkpoints, if a key is configured
    checkpoints = checkpoint_task(pool, signing_key, settings.checkpoint_interval)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(f"projecting {', '.join(names)}; Ctrl-C to stop", file=sys.stderr)
    await runner.start()
    if checkpoints is not None:
        await checkpoints.start()
    try:
        await stopped.wait()
    finally:
        if checkpoints is not None:
            await checkpoints.stop()
        await runner.stop()
        await store.close()
        await pool.close()
    return 0


def _print_progress(progress: Progress) -> None:
    eta = "" if progress.eta_seconds is None else f", ETA {progress.eta_seconds:,.0f} s"
    print(f"  {progress.applied:,}/{progress.total:,} events, "
          f"{progress.events_per_second:,.0f} events/s{eta}", file=sys.stderr, flush=True)


async def _rebuild(settings: Settings, url: str, names: list[str]) -> int:
    pool = await _pool(settings, url, max_size=pool_size(len(names), settings.pool_max_size))
    try:
        print(f"rebuilding {', '.join(names)} from the start of the feed", file=sys.stderr)
        position = await rebuild(pool, [by_name(n) for n in names], on_progress=_print_progress)
        print(f"swapped in {', '.join(names)} at {position.events_applied:,} events")
        return 0
    except RebuildBusy as error:
        print(f"ledger: {error}", file=sys.stderr)
        return 1
    except asyncpg.DeadlockDetectedError:
        print(f"ledger: the swap deadlocked with readers of the live tables {SWAP_ATTEMPTS} "
              "times; the live tables are unchanged: run the rebuild again", file=sys.stderr)
        return 1
    finally:
        await pool.close()


async def _tick(settings: Settings, url: str) -> int:
    master_key = resolve_master_key(settings)
    pool = await _pool(settings, url)
    try:
        changed = await tick(pool, case_service(EventStore(pool), master_key))
        print(f"marked overdue promises/instalments on {changed} cases")
        return 0
    finally:
        await pool.close()


async def _status(settings: Settings, url: str, projections_only: bool) -> int:
    """``ledger projections status`` / ``ledger workers status``: lag, quarantine, skips."""
    pool = await _pool(settings, url)
    try:
        print("projection\tevents_applied\tpositions_behind\tseconds_behind")
        for lag in await lags(pool, NAMES):
            print(f"{lag.name}\t{lag.events_applied}\t{lag.positions_behind}\t"
                  f"{lag.seconds_behind:.1f}")
        held = [q for q in await list_quarantine(pool, limit=10_000)
                if not projections_only or q.worker.startswith("projection:")]
        print(f"\nquarantined items: {len(held)}")
        for q in held:
            print(f"{q.worker}\t{q.item}\t{q.tenant_id or ''}\t{q.reason}\t"
                  f"{q.attempts} attempts\t{q.quarantined_at.isoformat()}")
        skips = [k for k in await list_skips(pool)
                 if not projections_only or k.worker.startswith("projection:")]
        if skips:
            print("\nskipped items:")
            for k in skips:
                print(f"{k.worker}\t{k.reason}\t{k.skipped}\tlast {k.last_item}\t"
                      f"{k.last_at.isoformat()}")
        return 0
    finally:
        await pool.close()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        if args.command in ("projections", "workers"):
            return asyncio.run(_status(settings, url, args.command == "projections"))
        if args.command == "project":
            tune_for_throughput()
            return asyncio.run(_project(settings, url, args.only or list(NAMES)))
        if args.command == "rebuild":
            if args.all == bool(args.name):
                print("ledger: name one projection or pass --all", file=sys.stderr)
                return 2
            tune_for_throughput(REBUILD_YOUNG_THRESHOLD)  # one long catch-up, and a bounded one
            with contextlib.suppress(KeyboardInterrupt):
                return asyncio.run(_rebuild(settings, url, list(NAMES) if args.all else [args.name]))
            print("interrupted: the live read models were left as they were", file=sys.stderr)
            return 130
        return asyncio.run(_tick(settings, url))


def register(commands: Any) -> None:
    """Add the read-side subcommands to the ``ledger`` parser."""
    project = commands.add_parser("project", help="run the projection runner (worker process)")
    project.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                         help=f"only this projection (repeatable): {', '.join(NAMES)}")
    project.set_defaults(handler=_run)
    rebuilding = commands.add_parser("rebuild", help="rebuild read models from the event log")
    rebuilding.add_argument("name", nargs="?", choices=NAMES, help="the projection to rebuild")
    rebuilding.add_argument("--all", action="store_true", help="rebuild every projection")
    rebuilding.set_defaults(handler=_run)
    commands.add_parser(
        "tick", help="mark overdue promises and instalments broken now (idempotent)",
    ).set_defaults(handler=_run)
    for name, what in (("projections", "projection lag and quarantined events"),
                       ("workers", "background workers: lag, quarantined and skipped items")):
        group = commands.add_parser(name, help=f"{what} (`ledger {name} status`)")
        group.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION").add_parser(
            "status", help=f"print {what}")
        group.set_defaults(handler=_run)
