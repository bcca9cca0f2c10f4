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


REBUILD_YOUNG_THRESHOLD = 500_000
"""For ``ledger rebuild``, a job that ends: at ``YOUNG_THRESHOLD`` a rebuild of a million
events ran ~54 young collections of ~50 ms each (2.4–3.1 s of its 17–21 s of CPU: the
decoded pages queued for the writers are still alive, so each collection walks and promotes
tens of thousands of objects); at this threshold, one in the whole load, and the same peak
memory (bench/README.md, "Projections", fourth round). The long-running workers keep the smaller
threshold: cyclic garbage of days of work must not wait for half a million allocations."""


def tune_for_throughput(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Freeze the objects made so far and collect young objects less often (process-wide)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *OLDER_THRESHOLDS)
