"""Re-segment a case right after each write to it (``CaseService.follow_up``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.domain.case import Case
from ledger.services.strategies import StrategyService


class Resegmenter:
    """The follow-up that records ``SegmentEntered`` when a fact moved the case (``SegmentLeft``
    when no active strategy covers it any more)."""

    def __init__(self, strategies: StrategyService) -> None:
        self.strategies = strategies

    async def prepare(self, tenant_id: str) -> Callable[[Case, datetime], object] | None:
        active = await self.strategies.active(tenant_id)
        if not active:
            return None
        return lambda case, now: case.resegment(active, now)
