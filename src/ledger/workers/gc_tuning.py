"""Garbage-collector settings for the long-running worker processes.

Why: a worker reading the feed holds a page of 10,000 asyncpg records (and their UUIDs) at a
time. They are tracked by the cyclic collector, outlive two young collections and so set off
full collections that walk every object the process has, start-up objects (modules, classes,
compiled SQL) included: about a fifth of a catch-up's CPU went to the collector. Freezing what
exists after start-up takes those objects out of every later collection, and a larger first
threshold makes young collections rarer. Reference counting still frees almost everything at
once; only cyclic garbage waits a little longer, and memory stays bounded.

Called by ``ledger project`` and ``ledger deliver``; the API process has its own, gentler
settings (``ledger.api.gc_tuning``: its pauses are request latency).
"""

from __future__ import annotations

import gc

#: Allocations (minus frees) between young collections; CPython's default is 700.
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, middle per full one (defaults 10 and 10).
OLDER_THRESHOLDS = (20, 20)


def tune_for_throughput() -> None:
    """Freeze the objects made so far and collect young objects less often (process-wide)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
