"""``ledger demo`` (and ``ledger serve --demo``): load the demo portfolio with a progress bar."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, time as clock_time
from typing import TextIO

from ledger.db.pool import create_pool
from ledger.demo.loader import DemoSummary, load_demo
from ledger.eventstore import EventStore
from ledger.services.repositories import case_repository

DEFAULT_CASES = 2000
DEFAULT_SEED = 42
BAR_WIDTH = 30


def default_end() -> datetime:
    """Midnight UTC today: the same portfolio all day long, and never in the future."""
    return datetime.combine(datetime.now(UTC).date(), clock_time(), UTC)


class ProgressBar:
    """A one-line bar on a terminal; a few plain lines when the output is a file or pipe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.shown_quarter = -1
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(share * BAR_WIDTH)
        line = (f"demo [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} "
                f"{done:,}/{total:,} cases, {time.monotonic() - self.started:.1f} s")
        if self.live:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
        elif int(share * 4) > self.shown_quarter:
            self.shown_quarter = int(share * 4)
            self.stream.write(line + "\n")
        self.stream.flush()


async def run_demo(url: str, master_key: bytes, *, tenant_id: str, cases: int = DEFAULT_CASES,
                   seed: int = DEFAULT_SEED, end: datetime | None = None,
                   stream: TextIO = sys.stderr) -> DemoSummary:
    """Load the demo into the (migrated) database at ``url`` and say what happened."""
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        repository = case_repository(EventStore(pool), master_key)
        summary = await load_demo(repository, tenant_id=tenant_id, cases=cases, seed=seed,
                                  end=end or default_end(), progress=ProgressBar(stream))
    finally:
        await pool.close()
    if summary.already_present:
        print(f"demo: tenant {tenant_id!r} already has the demo portfolio; nothing added",
              file=stream)
    else:
        print(f"demo: stored {summary.cases:,} cases ({summary.events:,} events) for tenant "
              f"{tenant_id!r}, seed {seed}", file=stream)
    return summary
