"""Scores, a case's plan, and the dialer list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, put
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, Parameter, QueryParameter

from ledger.api import auth
from ledger.api.commands import record_fact
from ledger.api.controllers.case_list import TEXT
from ledger.api.docs import responses
from ledger.api.principal import agent_scope
from ledger.api.problems import ProblemError, invalid
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.schemas.facts import FactRecorded
from ledger.api.schemas.times import Instant
from ledger.domain.case_strategy import MODEL_NAME
from ledger.api.schemas.strategies import (
    DialerItem,
    DialerList,
    NextView,
    PausedView,
    PlanStepView,
    PlanView,
    RecordScore,
)
from ledger.domain.timeutil import aware_utc
from ledger.services.cases import CaseService
from ledger.services.dialer import dialer_list
from ledger.services.keys import Role
from ledger.services.strategies import StrategyService

SCORE_EXAMPLE = {"value": 640, "model_version": "bureau-2026.3", "scored_at": "2026-10-01T06:00:00Z"}


class ScoreController(Controller):
    """Scores from the bank's models (Ledger's own ``behaviour`` score is computed)."""

    path = "/v1/cases"
    tags = ["scores"]

    @put("/{case_id:uuid}/scores/{model:str}", operation_id="recordScore", status_code=201,
         opt=auth.allow(Role.INTEGRATION), responses=responses(404, 412))
    async def record_score(
        self, request: Request, case_id: FromPath[UUID],
        model: Annotated[str, Parameter(pattern=MODEL_NAME.pattern, description=(
            "The bank's model name: 1-64 of a-z, 0-9, '_', '.', '-' (not `behaviour`, Ledger's own)."))],
        data: Annotated[RecordScore, Body(examples=[Example(value=SCORE_EXAMPLE)])],
    ) -> FactRecorded:
        """Record a score (0..1000) from model ``model``; the case view shows the latest
        ``scored_at`` per model. ``behaviour`` is Ledger's own and cannot be set (``422``)."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.record_score(model=model, value=data.value,
                                                model_version=data.model_version,
                                                scored_at=data.scored_at, now=now),
        )


class PlanController(Controller):
    """What to do next with a case, by its contact strategy."""

    path = "/v1/cases"
    tags = ["strategies"]

    @get("/{case_id:uuid}/plan", operation_id="casePlan", opt=auth.allow(*auth.EVERYONE),
         responses=responses(404))
    async def plan(self, request: Request, case_id: FromPath[UUID]) -> PlanView:
        """The case's segment and arm in its active strategy, each step's ``due_at`` and
        status, the ``next`` action with the first moment contact permission allows it, and
        ``paused`` (closed, on hold, disputed, ceased). ``404 no_strategy`` when no active
        strategy holds the case."""
        service: CaseService = request.app.state.cases
        strategies: StrategyService = request.app.state.strategies
        tenant = request.user.tenant_id
        active = await strategies.active(tenant)
        case = await service.load(tenant, case_id)
        now = service.clock()
        plan = case.plan(active, now)
        if plan is None:
            raise ProblemError(404, "no_strategy", "no active strategy holds this case")
        upcoming = plan.next
        return PlanView(
            strategy_id=plan.strategy_id, version=plan.version, arm=plan.arm,
            segment=plan.segment, entered_at=plan.entered_at,
            steps=[PlanStepView(s.day, str(s.action), s.template, s.due_at, str(s.status), s.auto)
                   for s in plan.steps],
            next=None if upcoming is None else NextView(str(upcoming.action), upcoming.due_at,
                                                        upcoming.allowed_at),
            paused=None if plan.paused is None else PausedView(plan.paused),
        )


class DialerController(Controller):
    """Call lists for dialers."""

    parameters = MIN_POSITION
    path = "/v1/dialer-list"
    tags = ["strategies"]

    @get("/", operation_id="dialerList", opt=auth.allow(Role.AGENT, Role.SUPERVISOR),
         responses=responses())
    async def dialer_list(
        self, request: Request,
        at: Annotated[Instant | None, QueryParameter(
            description="RFC 3339 with offset; default now.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        agent_id: Annotated[str | None, QueryParameter(
            pattern=TEXT, max_length=255,
            description="Supervisors: only this agent's cases. An agent key sees its own.")] = None,
    ) -> DialerList:
        """Cases whose next action is a ``call``, due at or before ``at`` and allowed at ``at``,
        most overdue first, each with ``allowed_until`` (when the allowed window closes)."""
        service: CaseService = request.app.state.cases
        moment = service.clock() if at is None else _aware(at)
        agent = agent_scope(request, agent_id)
        # Candidates come from rm_dialer, on the replica when there is one (a work list, as
        # API.md "Scale-out" says); each is then checked on its current case from the primary.
        candidates = await read_pool(request, "strategies")
        rows = await dialer_list(candidates, service, request.app.state.strategies,
                                 request.user.tenant_id, moment, limit, agent)
        return DialerList([DialerItem(r.case_id, r.external_ref, r.phone, r.segment, r.arm,
                                      r.due_at, r.allowed_until) for r in rows])


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise invalid("at", "must include a UTC offset")
    return aware_utc(at, "at")
