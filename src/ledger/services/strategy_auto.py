"""Automatic steps: queue the message of a due ``auto: true`` sms, email or letter step.

Candidates come from ``rm_auto_steps`` (strategies projection); each case is then judged on
its own events, now (``Case.plan``): only if its next action is still that due step is the
message queued, through the messages feature's one entry point (``queue_message``: contact
permission, opt-outs, rendering, outbox). ``MessageQueued`` marks the step done, so a step
is queued once. A step that cannot be queued (contact never allowed on the channel, template
gone) is retried on later passes and, after the worker framework's attempts, quarantined
(``PoisonGuard``: logged, counted, listed by ``ledger workers status``); the others go on.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.services.cases import FOLLOW_UP_ACTOR, CaseNotFound, CaseService, Context
from ledger.services.strategies import StrategyService
from ledger.workers import PoisonGuard

log = logging.getLogger("ledger.strategy_auto")
WORKER = "strategy-auto-steps"
DUE_SQL = """
    SELECT tenant_id, case_id, due_at, action, template FROM rm_auto_steps
    WHERE due_at <= $1 AND (until IS NULL OR until > $1)
    ORDER BY due_at, case_id LIMIT $2
"""
QueueMessage = Callable[[Context, UUID, str], Awaitable[object]]


class AutoSteps:
    """Queues due automatic steps; a step refused for good ends in quarantine."""

    def __init__(self, pool: asyncpg.Pool, cases: CaseService, strategies: StrategyService,
                 queue_message: QueueMessage) -> None:
        self.pool, self.cases, self.strategies = pool, cases, strategies
        self.queue_message = queue_message
        self.guard = PoisonGuard(pool, WORKER)

    async def run_once(self, now: datetime | None = None, limit: int = 500) -> int:
        """Queue what is due among up to ``limit`` candidates; returns messages queued."""
        moment = now or self.cases.clock()
        held = await self.guard.held()
        queued = 0
        for tenant_id, case_id, due_at, action, template in await self.pool.fetch(
                DUE_SQL, moment, limit):
            item = f"{case_id}/{due_at.isoformat()}/{template}"
            if item in held:
                continue

            async def run(tenant_id: str = tenant_id, case_id: UUID = case_id,
                          action: str = action, template: str = template) -> bool:
                active = await self.strategies.active(tenant_id)
                try:
                    case = await self.cases.load(tenant_id, case_id)
                except CaseNotFound:
                    return False
                plan = case.plan(active, moment, with_allowed_at=False)
                step = plan.next if plan is not None else None
                if (step is None or not step.auto or step.due_at > moment
                        or str(step.action) != action or step.template != template):
                    return False  # done or moved since the read model was written
                ctx = Context(tenant_id, FOLLOW_UP_ACTOR, uuid.uuid4())
                await self.queue_message(ctx, case_id, template)
                return True

            ok, sent = await self.guard.attempt(item, run, tenant_id=tenant_id)
            queued += bool(ok and sent)
        return queued
