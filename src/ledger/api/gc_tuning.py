"""The cyclic garbage collector, tuned for a long-running API process.

Profiles of the API under a steady load (``bench.api_load``) found about a fifth of the server's
CPU in the collector, and its full collections paused the event loop for 100+ ms at a time
(every request waiting behind them: the p99). Two reasons:

* the process's long-lived objects (the app, its OpenAPI schema, modules, the case cache) are
  traversed again by every full collection, although they are never garbage;
* with CPython's default young-generation threshold (700 allocations), a collection runs many
  times per request, and each promotes the objects of the requests in flight at that moment,
  which feeds the older generations and so brings the next full collection closer.

So once the app has started, what exists is frozen (``gc.freeze``: kept out of collections)
and young collections run every ``YOUNG_THRESHOLD`` allocations: as the worker processes do
(``ledger.workers.gc_tuning``), with a smaller threshold, since a pause here is request latency. Reference counting still frees
almost all of a request's objects at once; only reference cycles wait for the collector.
Shutdown restores the previous settings and unfreezes, so test processes that start many apps
collect their garbage as before.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

YOUNG_THRESHOLD = 20_000


@asynccontextmanager
async def tuned_collector(_: Any) -> AsyncIterator[None]:
    """Lifespan: freeze what start-up built and collect the young generation less often."""
    previous = gc.get_threshold()
    gc.freeze()  # O(1): the objects move to the permanent generation, nothing is traversed
    gc.set_threshold(max(YOUNG_THRESHOLD, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
