"""The strategy sweep: re-segment cases as days pass and after an activation.

Days past due grow at the debtor's local midnight, so each pass looks for the time zones
whose local date changed since the tenant was last swept and re-evaluates the open cases of
the active portfolios in those zones (all zones after an activation), and the cases still in a
segment of a portfolio the last activation dropped (they leave it: ``SegmentLeft``). Cases are
taken in case-id order in batches; each batch's ``SegmentEntered`` and ``SegmentLeft`` events
(actor ``system:strategy``) are appended together and the run's position is saved after it,
so a restart resumes where the last finished batch left off, and re-evaluating an
already-moved case records nothing. A case that fails to load or evaluate is logged and skipped (the run goes on); a tenant
whose every case in a batch fails (e.g. its data keys are wrapped under another master key)
fails its own sweep, and after three such passes is quarantined as ``tenant:<id>`` while the
other tenants are swept as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.case import Case
from ledger.domain.timeutil import local_date
from ledger.eventstore import ConcurrencyConflict
from ledger.services.cases import FOLLOW_UP_ACTOR, CaseService, Context, RetriesExhausted
from ledger.services.strategies import StrategyService
from ledger.services.strategy_auto import AutoSteps
from ledger.workers import PoisonGuard, Supervisor, WorkerStatus, is_transient

log = logging.getLogger("ledger.strategy_sweep")
WORKER = "strategies"
BATCH = 500
TENANTS_SQL = """
    SELECT DISTINCT tenant_id FROM stored_events
    WHERE topic LIKE 'ledger.domain.strategy.%' AND originator_version = 1
"""
STATE_SQL = "SELECT swept_through, run_to, run_zones, after_case FROM strategy_sweeps WHERE tenant_id = $1"
# The cases a sweep looks at: open ones of the active portfolios, and open ones still in a
# segment although their portfolio is no longer covered (the version activated last dropped
# it), which the sweep moves out (``SegmentLeft``); once out they have no rm_case_segments row.
_SWEPT = """
    tenant_id = $1 AND closed_at IS NULL
      AND (portfolio = ANY($2::text[])
           OR EXISTS (SELECT 1 FROM rm_case_segments s
                      WHERE s.tenant_id = rm_cases.tenant_id AND s.case_id = rm_cases.case_id))
"""
ZONES_SQL = f"SELECT DISTINCT timezone FROM rm_cases WHERE {_SWEPT}"
START_SQL = """
    INSERT INTO strategy_sweeps (tenant_id, run_to, run_zones, after_case, cases_seen, cases_moved)
    VALUES ($1, $2, $3, NULL, 0, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET run_to = $2, run_zones = $3, after_case = NULL,
        cases_seen = 0, cases_moved = 0
"""
BATCH_SQL = f"""
    SELECT case_id FROM rm_cases
    WHERE {_SWEPT}
      AND ($3::text[] IS NULL OR timezone = ANY($3::text[]))
      AND ($4::uuid IS NULL OR case_id > $4)
    ORDER BY case_id LIMIT $5
"""
PROGRESS_SQL = """
    UPDATE strategy_sweeps SET after_case = $2, cases_seen = cases_seen + $3,
        cases_moved = cases_moved + $4 WHERE tenant_id = $1
"""
FINISH_SQL = """
    UPDATE strategy_sweeps SET swept_through = run_to, run_to = NULL, run_zones = NULL,
        after_case = NULL WHERE tenant_id = $1
"""


class SweepResult(msgspec.Struct):
    cases_seen: int = 0
    cases_moved: int = 0


def changed_zones(zones: list[str], since: datetime | None, now: datetime) -> list[str]:
    """Zones whose local date at ``now`` differs from that at ``since`` (all if never swept)."""
    if since is None:
        return zones
    return [z for z in zones if local_date(since, z) != local_date(now, z)]


async def sweep_tenant(pool: asyncpg.Pool, service: CaseService, strategies: StrategyService,
                       tenant_id: str, now: datetime | None = None, *,
                       batch: int = BATCH) -> SweepResult:
    """Run (or resume) the tenant's sweep to the end; returns what this call did."""
    now = now or service.clock()
    active = await strategies.active(tenant_id, fresh=True)
    portfolios = sorted({p for a in active for p in a.document.portfolios})
    result = SweepResult()
    if not portfolios:
        return result
    state = await pool.fetchrow(STATE_SQL, tenant_id)
    if state is None or state["run_to"] is None:
        zones = [r[0] for r in await pool.fetch(ZONES_SQL, tenant_id, portfolios)]
        todo = changed_zones(zones, state["swept_through"] if state else None, now)
        if not todo:
            return result
        await pool.execute(START_SQL, tenant_id, now, todo)
        run_zones, after = todo, None
    else:
        run_zones, after = state["run_zones"], state["after_case"]
    ctx = Context(tenant_id, FOLLOW_UP_ACTOR, uuid.uuid4())
    while True:
        ids = [r[0] for r in await pool.fetch(BATCH_SQL, tenant_id, portfolios, run_zones, after, batch)]
        if not ids:
            break
        moved = await _resegment_batch(service, strategies, ctx, ids)
        after = ids[-1]
        await pool.execute(PROGRESS_SQL, tenant_id, after, len(ids), moved)
        result.cases_seen += len(ids)
        result.cases_moved += moved
    await pool.execute(FINISH_SQL, tenant_id)
    return result


async def _resegment_batch(service: CaseService, strategies: StrategyService, ctx: Context,
                           ids: list[UUID]) -> int:
    active = await strategies.active(ctx.tenant_id)
    now = service.clock()
    loaded = await _load_batch(service, ctx.tenant_id, ids)
    changed: list[Case] = []
    for case_id, case in loaded.items():
        try:
            if case.resegment(active, now) is not None:
                changed.append(case)
        except Exception as error:  # a poison case must not stop the sweep
            log.warning("strategy sweep skipped case %s: %s", case_id, type(error).__name__)
            case.collect_events()
    if not changed:
        return 0
    try:
        await service.repository.save(*changed, tenant_id=ctx.tenant_id, actor=ctx.actor,
                                      correlation_id=ctx.correlation_id)
        for case in changed:
            service.cache.drop(case.id)
        return len(changed)
    except ConcurrencyConflict:
        pass  # someone wrote one of them meanwhile: one case at a time, with retries
    moved = 0
    for case in changed:
        case.collect_events()
        marker: list[object] = []

        def step(fresh: Case, clock_now: datetime, found: list[object] = marker) -> None:
            found[:] = [fresh.resegment(active, clock_now)]

        try:
            await service.execute(ctx, case.id, step, lambda *_: (200, b""))
        except (RetriesExhausted, Exception) as error:
            log.warning("strategy sweep skipped case %s: %s", case.id, type(error).__name__)
            continue
        moved += marker[0] is not None
    return moved


async def _load_batch(service: CaseService, tenant_id: str, ids: list[UUID]) -> dict[UUID, Case]:
    """The batch in one round trip; when that fails on some case's own data, case by case,
    skipping the ones that fail (all of them failing is the tenant's failure: raised)."""
    try:
        return await service.load_many(tenant_id, ids)
    except Exception as error:
        if is_transient(error):
            raise
        first: Exception = error
    loaded: dict[UUID, Case] = {}
    for case_id in ids:
        try:
            loaded.update(await service.load_many(tenant_id, [case_id]))
        except Exception as error:
            if is_transient(error):
                raise
            log.warning("strategy sweep skipped case %s: %s", case_id, type(error).__name__)
    if not loaded:
        raise first
    return loaded


async def sweep_all(pool: asyncpg.Pool, service: CaseService, strategies: StrategyService,
                    now: datetime | None = None, guard: PoisonGuard | None = None,
                    only: set[str] | None = None) -> SweepResult:
    """One pass over every tenant that has strategies (or those of them in ``only``); with a
    ``guard``, a tenant whose sweep fails on its own data is counted (and in the end
    quarantined) and the others go on."""
    total = SweepResult()
    held = await guard.held() if guard is not None else set()
    for (tenant_id,) in await pool.fetch(TENANTS_SQL):
        if f"tenant:{tenant_id}" in held or (only is not None and tenant_id not in only):
            continue
        sweep = lambda t=tenant_id: sweep_tenant(pool, service, strategies, t, now)  # noqa: E731
        if guard is None:
            done = await sweep()
        else:
            ok, done = await guard.attempt(f"tenant:{tenant_id}", sweep, tenant_id=tenant_id)
            if not ok or done is None:
                continue
        total.cases_seen += done.cases_seen
        total.cases_moved += done.cases_moved
    return total


class StrategySweeper:
    """Runs ``sweep_all`` every ``interval`` seconds, and at once when woken (an activation),
    then queues the due automatic steps (``AutoSteps``), under a
    :class:`~ledger.workers.Supervisor` (a failed pass ends the loop; it is restarted).

    One process sweeps at a time (a session advisory lock); the others skip the pass.
    """

    LOCK = (0x5354, 1)

    def __init__(self, pool: asyncpg.Pool, service: CaseService, strategies: StrategyService,
                 interval: float = 60.0, auto_steps: AutoSteps | None = None) -> None:
        self.pool, self.service, self.strategies = pool, service, strategies
        self.interval = interval
        self.auto_steps = auto_steps
        self._wake = asyncio.Event()
        self.passes = 0
        self.guard = PoisonGuard(pool, WORKER)
        self.supervisor = Supervisor(WORKER, self._run)

    def wake(self, tenant_id: str | None = None) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self.supervisor.start()

    def status(self) -> WorkerStatus:
        return self.supervisor.status()

    async def stop(self) -> None:
        await self.supervisor.stop()

    async def run_once(self) -> SweepResult | None:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *self.LOCK):
                return None
            try:
                done = await sweep_all(self.pool, self.service, self.strategies, guard=self.guard)
                if self.auto_steps is not None:
                    await self.auto_steps.run_once()
                return done
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", *self.LOCK)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            done = await self.run_once()
            self.passes += 1
            if done is not None and done.cases_moved:
                log.info("strategy sweep: %d of %d cases moved", done.cases_moved, done.cases_seen)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
