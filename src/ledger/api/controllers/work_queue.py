"""``GET /v1/work-queue``: an agent's open cases, most urgent first."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.controllers.case_list import TEXT, case_summary
from ledger.api.docs import responses
from ledger.api.principal import agent_scope
from ledger.api.schemas.queries import WorkItem, WorkQueue
from ledger.domain.compliance import permission
from ledger.domain.values import Channel
from ledger.projections import events_applied, queries
from ledger.services.cases import CaseService
from ledger.services.keys import Role

WORK_QUEUE_ROLES = (Role.AGENT, Role.SUPERVISOR)


class WorkQueueController(Controller):
    """Work queues for agents and supervisors."""

    path = "/v1/work-queue"
    tags = ["work queue"]

    @get("/", operation_id="workQueue", guards=[auth.allow(*WORK_QUEUE_ROLES)],
         responses=responses())
    async def work_queue(
        self, request: Request,
        agent_id: Annotated[str | None, QueryParameter(
            pattern=TEXT, max_length=255,
            description="The agent whose queue to show. A key bound to an agent sees its "
            "own (another agent is 403 agent_mismatch); unbound agent keys must name one; "
            "supervisors and admins omit it for the unassigned cases.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> WorkQueue:
        """Open cases assigned to ``agent_id`` (or unassigned), a broken latest promise first,
        then by balance × days past due, highest first. ``next_contact_allowed_at`` is judged
        now from each case's own events (compliance rules, cease, disputes, holds)."""
        agent_id = agent_scope(request, agent_id)
        pool = request.app.state.pool
        service: CaseService = request.app.state.cases
        as_of = await events_applied(pool, "cases")
        now = service.clock()
        tenant = request.user.tenant_id
        rows = await queries.work_queue(pool, tenant, now, agent_id, limit)
        loaded = await service.load_many(tenant, [r["case_id"] for r in rows])
        items = []
        for rank, row in enumerate(rows, start=1):
            case = loaded.get(row["case_id"])
            allowed_at = None if case is None else permission(case, Channel.PHONE, now).next_allowed_at
            items.append(WorkItem(case=case_summary(row), priority=rank,
                                  broken_promise=bool(row["broken"]),
                                  next_contact_allowed_at=allowed_at))
        return WorkQueue(items, as_of)
