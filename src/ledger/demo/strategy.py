"""The demo's contact strategy: a champion and a 20% challenger over the demo portfolios.

Version 1 is activated at the start of the demo period (by ``demo:supervisor``), so each case
enters its segment when it is placed and the two arms' recovery can be compared over the whole
period. Two days before the end a revised version 2 (early cases are called first) replaces
it, so every open case re-enters its segment then and has a fresh plan: the dialer list and
the plans of the tour have calls due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from ledger.domain.case import Case
from ledger.domain.strategy.aggregate import Strategy, strategy_id_for
from ledger.domain.strategy.document import StrategyDocument
from ledger.domain.strategy.evaluation import ActiveStrategy
from ledger.eventstore import Repository

SUPERVISOR = "demo:supervisor"
NAME = "cards-collections"


def _steps(*steps: tuple[int, str, str | None]) -> list[dict[str, Any]]:
    return [{"day": day, "action": action, **({"template": t} if t else {})}
            for day, action, t in steps]


CHAMPION = [
    {"name": "early", "when": {"dpd_max": 30},
     "steps": _steps((0, "sms", "reminder"), (2, "call", None), (7, "email", "notice"),
                     (14, "call", None))},
    {"name": "promising", "when": {"score": {"model": "behaviour", "min": 650}},
     "steps": _steps((0, "call", None), (7, "sms", "reminder"), (14, "call", None))},
    {"name": "high-balance", "when": {"balance_min": 300_000},
     "steps": _steps((0, "call", None), (3, "call", None), (10, "letter", "final-notice"),
                     (21, "review", None))},
    {"name": "late", "when": {"dpd_min": 91},
     "steps": _steps((0, "letter", "notice"), (3, "call", None), (14, "call", None),
                     (30, "escalate", None))},
    {"name": "rest", "when": {},
     "steps": _steps((0, "call", None), (7, "call", None), (14, "letter", "notice"))},
]
CHALLENGER = [
    {"name": "early", "when": {"dpd_max": 30},
     "steps": _steps((0, "sms", "reminder"), (1, "email", "notice"), (3, "call", None))},
    {"name": "late", "when": {"dpd_min": 91},
     "steps": _steps((0, "call", None), (2, "call", None), (7, "letter", "final-notice"),
                     (21, "escalate", None))},
    {"name": "rest", "when": {},
     "steps": _steps((0, "call", None), (4, "call", None), (10, "sms", "reminder"))},
]


def quarters(start: datetime, end: datetime) -> list[str]:
    """The demo's portfolio names (one per placement quarter) between ``start`` and ``end``."""
    names, day = [], start
    while day <= end + timedelta(days=92):
        name = f"cards-{day:%Y}q{(day.month - 1) // 3 + 1}"
        if name not in names:
            names.append(name)
        day += timedelta(days=28)
    return names


REVISED_EARLY = {"name": "early", "when": {"dpd_max": 30},
                 "steps": _steps((0, "call", None), (2, "sms", "reminder"), (7, "email", "notice"),
                                 (14, "call", None))}
REVISION_DAYS = 2


def demo_document(start: datetime, end: datetime, *, revised: bool = False) -> StrategyDocument:
    champion = [REVISED_EARLY, *CHAMPION[1:]] if revised else CHAMPION
    return msgspec.convert({"name": NAME, "portfolios": quarters(start, end),
                            "segments": champion,
                            "challenger": {"split": 0.2, "segments": CHALLENGER}},
                           StrategyDocument)


async def activate_demo_strategy(repository: Repository, tenant_id: str, start: datetime,
                                 end: datetime) -> tuple[ActiveStrategy, int]:
    """Save and activate the demo strategy, in force from ``start``; returns it and the
    number of events stored."""
    strategy = Strategy.register(tenant_id=tenant_id, name=NAME, now=start)
    strategy.save_version(demo_document(start, end), start)
    strategy.activate(1, [], start)
    rows = await repository.save(strategy, tenant_id=tenant_id, actor=SUPERVISOR)
    active = strategy.active()
    assert active is not None
    return active, len(rows)


async def revise_demo_strategy(repository: Repository, tenant_id: str, start: datetime,
                               end: datetime) -> tuple[ActiveStrategy, datetime, int]:
    """Activate version 2 ``REVISION_DAYS`` before ``end``; returns it, when, events stored."""
    strategy = await repository.load(strategy_id_for(tenant_id, NAME), tenant_id=tenant_id)
    revised_at = end - timedelta(days=REVISION_DAYS)
    strategy.save_version(demo_document(start, end, revised=True), revised_at)
    strategy.activate(2, [], revised_at)
    rows = await repository.save(strategy, tenant_id=tenant_id, actor=SUPERVISOR)
    active = strategy.active()
    assert active is not None
    return active, revised_at, len(rows)


def enter_segments(cases: list[Case], active: ActiveStrategy, at: datetime | None) -> list[Case]:
    """Re-evaluate ``cases`` at ``at`` (their placement when None); those that moved."""
    for case in cases:
        case.resegment([active], at or case.placed_at)
    return [case for case in cases if case.pending_events]
