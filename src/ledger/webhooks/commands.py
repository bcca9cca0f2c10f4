"""``ledger deliver``: the webhook deliverer as a process of its own (scaled out).

Several may run: each owns the shards it can lock (``LEDGER_WEBHOOK_SHARDS``) and takes over
a dead owner's shards within seconds. Run ``ledger serve`` with ``LEDGER_RUN_WEBHOOKS=false``
when deliverers run separately (both at once is safe too: the locks decide).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from ledger.config import Settings
from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.db.runtime import database_url, ensure_database_exists
from ledger.eventstore import EventStore
from ledger.privacy import resolve_master_key
from ledger.webhooks.wiring import build_deliverer
from ledger.workers.gc_tuning import tune_for_throughput


async def _deliver(settings: Settings, url: str) -> int:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    await migrate(url)
    pool = await create_pool(url, min_size=2, max_size=max(8, settings.pool_min_size))
    store = EventStore(pool, cross_process_wakeups=True)
    await store.start()
    deliverer = build_deliverer(settings, pool, store, resolve_master_key(settings))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(f"delivering webhooks ({settings.webhook_shards} shard(s)); Ctrl-C to stop",
          file=sys.stderr, flush=True)
    await deliverer.start()
    try:
        await stopped.wait()
    finally:
        await deliverer.stop()
        await store.close()
        await pool.close()
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.observability import configure_logging

    configure_logging(settings.log_level)
    with database_url(settings) as url:
        tune_for_throughput()
        return asyncio.run(_deliver(settings, url))


def register(commands: Any) -> None:
    commands.add_parser("deliver", help="run the webhook deliverer (worker process)") \
        .set_defaults(handler=_run)
