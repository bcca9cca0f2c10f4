"""Deadlines: record broken promises, defaulted arrangements and overdue complaints once
their deadline passes.

Candidates come from ``rm_cases.next_deadline`` (the earliest deadline the cases projection
sees unmet) and ``rm_complaints.respond_by`` (open complaints); each is loaded and
``Case.mark_overdue(now)`` and ``Case.mark_complaints_overdue(now)`` decide, so the read
models only narrow the search and never decide anything. Idempotent: a case with nothing due appends
nothing, and two schedulers racing on one case conflict in the store, reload, and the second
finds nothing left to mark. Events carry the actor ``system:scheduler``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from ledger.domain.case import Case
from ledger.services.cases import CaseNotFound, CaseService, Context, RetriesExhausted

log = logging.getLogger("ledger.deadlines")
ACTOR = "system:scheduler"
DUE_SQL = """
    SELECT tenant_id, case_id FROM (
        (SELECT tenant_id, case_id, next_deadline AS due FROM rm_cases
         WHERE next_deadline <= $1 ORDER BY next_deadline LIMIT $2)
        UNION ALL
        (SELECT tenant_id, case_id, respond_by AS due FROM rm_complaints
         WHERE resolved_at IS NULL AND NOT overdue
           AND respond_by <= $1::timestamptz - interval '1 second'
         ORDER BY respond_by LIMIT $2)
    ) AS candidates
    GROUP BY tenant_id, case_id ORDER BY min(due) LIMIT $2
"""


def _render(case: Case, result: Any) -> tuple[int, bytes]:
    return 200, b""


async def tick(pool: asyncpg.Pool, service: CaseService, now: datetime | None = None, *,
               limit: int = 500) -> int:
    """Mark everything overdue among up to ``limit`` candidates; returns cases changed."""
    moment = now or service.clock()
    changed = 0
    correlation_id = uuid.uuid4()
    for tenant_id, case_id in await pool.fetch(DUE_SQL, moment, limit):
        ctx = Context(tenant_id, ACTOR, correlation_id)
        marked: list[Any] = []

        def mark(case: Case, clock_now: datetime, found: list[Any] = marked) -> None:
            at = min(moment, clock_now)
            found[:] = [*case.mark_overdue(at), *case.mark_complaints_overdue(at)]

        try:
            await service.execute(ctx, case_id, mark, _render)
        except (CaseNotFound, RetriesExhausted) as error:
            log.warning("deadline check of %s skipped: %s", case_id, type(error).__name__)
            continue
        changed += bool(marked)
    return changed


class DeadlineScheduler:
    """Runs ``tick`` every ``interval`` seconds until stopped.

    ``observe(changed)`` is called after each pass with the number of cases it changed, or
    with ``None`` when the pass failed (metrics hook).
    """

    def __init__(self, pool: asyncpg.Pool, service: CaseService, interval: float, *,
                 observe: Callable[[int | None], None] | None = None) -> None:
        self.pool = pool
        self.service = service
        self.interval = interval
        self.observe = observe
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            changed: int | None = None
            try:
                changed = await tick(self.pool, self.service)
                if changed:
                    log.info("deadlines: marked overdue items on %d cases", changed)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("deadline tick failed: %s", type(error).__name__)
            if self.observe is not None:
                self.observe(changed)
            await asyncio.sleep(self.interval)
