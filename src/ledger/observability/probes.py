"""Read-side figures for ``/ready`` and ``/metrics``, computed at most once a second.

Both endpoints are unauthenticated (or cheaply authenticated), and projection lag costs a count
over up to ``LAG_CAP`` feed rows per projection: a client hammering them must not turn that into
database load. :class:`ReadSideProbe` queries lag and the quarantine at most once per
``ttl`` seconds however many callers ask (concurrent callers share one query).

A cached "caught up" must not hide this process's own newer writes (clients wait on ``/ready``
for read-your-writes): when the store's wake-up generation moved since the figures were taken,
each projection is reported at least one event behind until the next refresh.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import msgspec

from ledger.projections import NAMES, Lag, lags
from ledger.workers import Quarantined, count_held, list_quarantine

LISTED = 50
"""Quarantined items listed by ``/ready`` (all are counted)."""


class ReadSideFigures(msgspec.Struct, frozen=True):
    projections: list[Lag]
    quarantined: list[Quarantined]
    held: dict[str, int]
    """Quarantined items per worker."""


class ReadSideProbe:
    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self.queries = 0
        """Refreshes so far (each is one lag query and two quarantine queries)."""
        self._figures: ReadSideFigures | None = None
        self._taken = float("-inf")
        self._generation: Any = None
        self._lock = asyncio.Lock()

    async def figures(self, pool: asyncpg.Pool, wakeup: Any = None) -> ReadSideFigures:
        """Current figures (cached ≤ ``ttl`` s); ``wakeup`` is the store's ``Wakeup``."""
        if time.monotonic() - self._taken >= self.ttl:
            async with self._lock:
                if time.monotonic() - self._taken >= self.ttl:  # not refreshed while we waited
                    generation = wakeup.current() if wakeup is not None else None
                    async with pool.acquire(timeout=2) as conn:
                        found = await lags(conn, NAMES)
                        quarantined = await list_quarantine(conn, limit=LISTED)
                        held = await count_held(conn)
                    self.queries += 1
                    self._figures = ReadSideFigures(found, quarantined, held)
                    self._taken, self._generation = time.monotonic(), generation
        figures = self._figures
        assert figures is not None
        if wakeup is not None and wakeup.current() is not self._generation:
            stale = [msgspec.structs.replace(lag, positions_behind=max(1, lag.positions_behind))
                     for lag in figures.projections]
            return ReadSideFigures(stale, figures.quarantined, figures.held)
        return figures
