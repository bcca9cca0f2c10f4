"""Deadlines: record broken promises, defaulted arrangements and overdue complaints once
their deadline passes.

Candidates come from ``rm_cases.next_deadline`` (the earliest deadline the cases projection
sees unmet) and ``rm_complaints.respond_by`` (open complaints); each is loaded and
``Case.mark_overdue(now)`` and ``Case.mark_complaints_overdue(now)`` decide, so the read
models only narrow the search and never decide anything. Idempotent: a case with nothing due appends
nothing, and two schedulers racing on one case conflict in the store, reload, and the second
finds nothing left to mark. Events carry the actor ``system:scheduler``.

A sweep pages through *every* due case (keyset on ``(next_deadline, case_id)``, then on
``(respond_by, case_id)`` for complaints), ``PAGE`` at a time: one load of the page's cases per tenant, one append of all the changed ones. A page
whose load or append fails falls back to one case at a time, so one bad case costs only
itself. The scheduler runs under the worker framework (``ledger.workers``): its loop is
supervised, and a case that keeps failing is quarantined (worker ``deadlines``) and skipped,
so it can neither end the scheduler nor hold the head of the queue.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.case import Case
from ledger.services.cases import CaseNotFound, CaseService, Context, RetriesExhausted
from ledger.workers import PoisonGuard, Supervisor, WorkerStatus, is_transient

log = logging.getLogger("ledger.deadlines")
ACTOR = "system:scheduler"
WORKER = "deadlines"
PAGE = 1000
DUE_SQL = """
    SELECT tenant_id, case_id, next_deadline FROM rm_cases
    WHERE next_deadline <= $1
      AND ($2::timestamptz IS NULL OR (next_deadline, case_id) > ($2, $3::uuid))
    ORDER BY next_deadline, case_id LIMIT $4
"""
COMPLAINTS_DUE_SQL = """
    SELECT tenant_id, case_id, respond_by FROM rm_complaints
    WHERE resolved_at IS NULL AND NOT overdue
      AND respond_by <= $1::timestamptz - interval '1 second'
      AND ($2::timestamptz IS NULL OR (respond_by, case_id) > ($2, $3::uuid))
    ORDER BY respond_by, case_id LIMIT $4
"""


def _mark(case: Case, at: datetime) -> list[Any]:
    return [*case.mark_overdue(at), *case.mark_complaints_overdue(at)]


class Sweep(msgspec.Struct):
    """What one sweep did."""

    due: int = 0
    """Candidates seen (quarantined ones excluded)."""
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    """Candidates that were held in quarantine."""


def _render(case: Case, result: Any) -> tuple[int, bytes]:
    return 200, b""


class DeadlineSweeper:
    """Sweeps all due cases, page by page, setting poison cases aside."""

    def __init__(self, pool: asyncpg.Pool, service: CaseService, *, page: int = PAGE,
                 guard: PoisonGuard | None = None) -> None:
        self.pool = pool
        self.service = service
        self.page = page
        self.guard = guard or PoisonGuard(pool, WORKER)

    async def sweep(self, now: datetime | None = None) -> Sweep:
        moment = now or self.service.clock()
        held = await self.guard.held()
        result = Sweep()
        correlation_id = uuid.uuid4()
        for sql in (DUE_SQL, COMPLAINTS_DUE_SQL):
            await self._sweep_source(sql, moment, held, correlation_id, result)
        return result

    async def _sweep_source(self, sql: str, moment: datetime, held: set[str],
                            correlation_id: UUID, result: Sweep) -> None:
        after: tuple[datetime | None, UUID | None] = (None, None)
        while True:
            rows = await self.pool.fetch(sql, moment, after[0], after[1], self.page)
            if not rows:
                return
            after = (rows[-1][2], rows[-1]["case_id"])
            by_tenant: dict[str, list[UUID]] = defaultdict(list)
            for tenant_id, case_id, _ in rows:
                if str(case_id) in held:
                    result.skipped += 1
                elif case_id not in by_tenant[tenant_id]:
                    by_tenant[tenant_id].append(case_id)
            for tenant_id, case_ids in by_tenant.items():
                result.due += len(case_ids)
                ctx = Context(tenant_id, ACTOR, correlation_id)
                await self._page(ctx, case_ids, moment, result)
            if len(rows) < self.page:
                return

    async def _page(self, ctx: Context, case_ids: list[UUID], moment: datetime,
                    result: Sweep) -> None:
        try:
            cases = await self.service.load_many(ctx.tenant_id, case_ids)
        except Exception as error:
            if is_transient(error):
                raise
            await self._one_by_one(ctx, case_ids, moment, result)
            return
        changed: list[Case] = []
        for case_id in case_ids:
            case = cases.get(case_id)
            if case is None:
                continue  # erased or not visible yet: the read model only narrows the search
            try:
                _mark(case, moment)
            except Exception as error:
                result.failed += 1
                await self.guard.failed(str(case_id), error, tenant_id=ctx.tenant_id)
                continue
            if case.pending_events:
                changed.append(case)
        if not changed:
            return
        try:
            await self.service.repository.save(
                *changed, tenant_id=ctx.tenant_id, actor=ctx.actor,
                correlation_id=ctx.correlation_id)
        except Exception as error:
            if is_transient(error):
                raise
            # A conflict with another writer, or one case the store refuses: retry each alone.
            await self._one_by_one(ctx, [c.id for c in changed], moment, result)
            return
        for case in changed:
            self.service.cache.drop(case.id)  # its cached copy predates this append
            self.guard.failures.pop(str(case.id), None)
        result.changed += len(changed)

    async def _one_by_one(self, ctx: Context, case_ids: list[UUID], moment: datetime,
                          result: Sweep) -> None:
        for case_id in case_ids:
            marked: list[Any] = []

            def mark(case: Case, clock_now: datetime, found: list[Any] = marked) -> None:
                found[:] = _mark(case, min(moment, clock_now))

            async def run(case_id: UUID = case_id) -> None:
                try:
                    await self.service.execute(ctx, case_id, mark, _render)
                except (CaseNotFound, RetriesExhausted) as error:
                    log.warning("deadline check of %s skipped: %s", case_id, type(error).__name__)

            ok, _ = await self.guard.attempt(str(case_id), run, tenant_id=ctx.tenant_id)
            if not ok:
                result.failed += 1
            else:
                result.changed += bool(marked)


async def tick(pool: asyncpg.Pool, service: CaseService, now: datetime | None = None, *,
               page: int = PAGE) -> int:
    """One sweep over every due case; returns the number of cases changed."""
    return (await DeadlineSweeper(pool, service, page=page).sweep(now)).changed


class DeadlineScheduler:
    """Sweeps every ``interval`` seconds, under a :class:`~ledger.workers.Supervisor`.

    ``observe(changed)`` is called after each pass with the number of cases it changed, or
    with ``None`` when the pass failed (metrics hook). A failed pass (database down, or any
    error the sweep did not pin on one case) ends the loop; the supervisor restarts it.
    """

    def __init__(self, pool: asyncpg.Pool, service: CaseService, interval: float, *,
                 observe: Callable[[int | None], None] | None = None, page: int = PAGE) -> None:
        self.pool = pool
        self.service = service
        self.interval = interval
        self.observe = observe
        self.sweeper = DeadlineSweeper(pool, service, page=page)
        self.supervisor = Supervisor(WORKER, self._run)
        self.last_sweep: Sweep | None = None

    async def start(self) -> None:
        await self.supervisor.start()

    def status(self) -> WorkerStatus:
        return self.supervisor.status()

    async def stop(self) -> None:
        await self.supervisor.stop()

    async def _run(self) -> None:
        while True:
            try:
                sweep = await self.sweeper.sweep()
            except Exception:
                if self.observe is not None:
                    self.observe(None)
                raise
            self.last_sweep = sweep
            if sweep.changed or sweep.failed:
                log.info("deadlines: marked overdue items on %d cases (%d failed, %d held)",
                         sweep.changed, sweep.failed, sweep.skipped)
            if self.observe is not None:
                self.observe(sweep.changed)
            await asyncio.sleep(self.interval)
