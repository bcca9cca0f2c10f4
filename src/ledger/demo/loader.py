"""Store demo cases through the real domain and event store, in bulk.

Cases are built in batches: every case of a batch is placed, then its steps run in *waves* —
the n-th run of consecutive same-actor steps of every case — and each wave is saved with one
append per actor. So events carry who did them (agent, bank feed, supervisor, scheduler), are
hash-chained by the store like any other, and 2,000 cases cost a few hundred appends rather
than tens of thousands of HTTP calls. Finally the scheduler's view at ``end`` is applied:
promises and instalments overdue by then are recorded as broken/defaulted.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.demo.portfolio import PORTFOLIO_DAYS, SCHEDULER, CasePlan, Step, plan_case
from ledger.demo.strategy import activate_demo_strategy, enter_segments, revise_demo_strategy
from ledger.domain.strategy.evaluation import ActiveStrategy
from ledger.services.cases import FOLLOW_UP_ACTOR
from ledger.domain.case import Case
from ledger.domain.errors import DomainError
from ledger.eventstore import Repository
from ledger.services.cases import case_id_for

BATCH = 100
PLACER = "demo:bank-feed"


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` stored."""

    cases: int
    events: int
    skipped_steps: int
    already_present: bool = False


Progress = Callable[[int, int], None]


async def load_demo(repository: Repository, *, tenant_id: str, cases: int, seed: int,
                    end: datetime, progress: Progress | None = None) -> DemoSummary:
    """Store ``cases`` demo cases for ``tenant_id``; a second run with any seed does nothing."""
    first_id = case_id_for(tenant_id, plan_case(seed, 1, end).external_ref)
    if await repository.load_many([first_id], tenant_id=tenant_id):
        return DemoSummary(0, 0, 0, already_present=True)
    skipped = 0
    start = end - timedelta(days=PORTFOLIO_DAYS)
    strategy, events = await activate_demo_strategy(repository, tenant_id, start, end)
    for offset in range(0, cases, BATCH):
        plans = [plan_case(seed, index, end) for index in range(offset + 1,
                                                                min(cases, offset + BATCH) + 1)]
        stored, missed = await _store_batch(repository, tenant_id, plans, end, strategy)
        events, skipped = events + stored, skipped + missed
        if progress is not None:
            progress(offset + len(plans), cases)
    revised, revised_at, stored = await revise_demo_strategy(repository, tenant_id, start, end)
    events += stored
    for offset in range(0, cases, BATCH):
        ids = [case_id_for(tenant_id, plan_case(seed, index, end).external_ref)
               for index in range(offset + 1, min(cases, offset + BATCH) + 1)]
        loaded = list((await repository.load_many(ids, tenant_id=tenant_id)).values())
        events += await _save_entries(repository, tenant_id,
                                      enter_segments(loaded, revised, revised_at))
    return DemoSummary(cases, events, skipped)


async def _store_batch(repository: Repository, tenant_id: str, plans: list[CasePlan],
                       end: datetime, strategy: ActiveStrategy) -> tuple[int, int]:
    correlation = uuid.uuid4()
    cases = [Case.place(case_id=case_id_for(tenant_id, plan.external_ref), tenant_id=tenant_id,
                        external_ref=plan.external_ref, now=end, **plan.placement)  # type: ignore[arg-type]
             for plan in plans]
    rows = await repository.save(*cases, tenant_id=tenant_id, actor=PLACER,
                                 correlation_id=correlation)
    stored, skipped = len(rows), 0
    stored += await _save_entries(repository, tenant_id, enter_segments(cases, strategy, None))
    waves = [_runs(sorted(plan.steps, key=lambda step: step.at)) for plan in plans]
    for wave in itertools.zip_longest(*waves):
        by_actor: dict[str, list[Case]] = {}
        for case, run in zip(cases, wave, strict=True):
            if run is None:
                continue
            for step in run:
                try:
                    step.command(case)
                except DomainError:
                    skipped += 1  # refused by the rules, as the API would have refused it
            if case.pending_events:
                by_actor.setdefault(run[0].actor, []).append(case)
        for actor, changed in by_actor.items():
            stored += len(await repository.save(*changed, tenant_id=tenant_id, actor=actor,
                                                correlation_id=correlation))
    for case in cases:
        case.mark_overdue(end)
    overdue = [case for case in cases if case.pending_events]
    if overdue:
        stored += len(await repository.save(*overdue, tenant_id=tenant_id, actor=SCHEDULER,
                                            correlation_id=correlation))
    stored += await _save_entries(repository, tenant_id, enter_segments(cases, strategy, end))
    return stored, skipped


async def _save_entries(repository: Repository, tenant_id: str, moved: list[Case]) -> int:
    """Segment entries, recorded as the strategy sweep records them."""
    if not moved:
        return 0
    return len(await repository.save(*moved, tenant_id=tenant_id, actor=FOLLOW_UP_ACTOR))


def _runs(steps: list[Step]) -> list[list[Step]]:
    """Consecutive steps by the same actor, grouped."""
    return [list(group) for _, group in itertools.groupby(steps, key=lambda step: step.actor)]
