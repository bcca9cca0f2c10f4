"""The deadline scheduler, counted: each pass and the cases it changed become metrics.

``DeadlineScheduler`` (projections) has no hook for observers, so this subclass runs the same
loop around the same ``tick`` and counts it. If the scheduler grows a callback, this module
shrinks to passing one.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from ledger.observability.metrics import DEADLINE_CASES, DEADLINE_RUNS
from ledger.projections import deadlines

log = logging.getLogger("ledger.deadlines")


class MeteredDeadlineScheduler(deadlines.DeadlineScheduler):
    """``DeadlineScheduler`` that records ``ledger_deadline_runs_total`` per pass."""

    async def _run(self) -> None:
        while True:
            try:
                changed = await deadlines.tick(self.pool, self.service)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                DEADLINE_RUNS.labels("failed").inc()
                log.warning("deadline tick failed: %s", type(error).__name__)
            else:
                DEADLINE_RUNS.labels("ok").inc()
                DEADLINE_CASES.inc(changed)
                if changed:
                    log.info("deadlines: marked overdue items on %d cases", changed)
            await asyncio.sleep(self.interval)
