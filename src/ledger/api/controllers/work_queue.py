"""``GET /v1/work-queue``: an agent's open cases, most urgent first."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.controllers.case_list import TEXT, case_summary
from ledger.api.docs import responses
from ledger.api.principal import agent_scope
from ledger.api.schemas.queries import PendingApprovalItem, WorkItem, WorkQueue
from ledger.domain.compliance import permission
from ledger.domain.values import Channel
from ledger.projections import as_of_position, negotiation_queries, queries
from ledger.services.cases import CaseService
from ledger.services.keys import Role

WORK_QUEUE_ROLES = (Role.AGENT, Role.SUPERVISOR)
PENDING_APPROVALS_SHOWN = 100


class WorkQueueController(Controller):
    """Work queues for agents and supervisors."""

    parameters = MIN_POSITION
    path = "/v1/work-queue"
    tags = ["work queue"]

    @get("/", operation_id="workQueue", opt=auth.allow(*WORK_QUEUE_ROLES),
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
        """Open cases assigned to ``agent_id`` (or unassigned): cases with a due ``call`` step of
        their contact strategy first, then a broken latest promise,
        then by balance × days past due, highest first. A supervisor's or admin's queue
        (without ``agent_id``) also lists ``pending_approvals``. ``next_contact_allowed_at`` is judged
        now from each case's own events (compliance rules, cease, disputes, holds)."""
        agent_id = agent_scope(request, agent_id)
        pool = await read_pool(request, "cases")
        service: CaseService = request.app.state.cases
        as_of = await as_of_position(pool, "cases")
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
                                  next_contact_allowed_at=allowed_at,
                                  call_due=bool(row["call_due"])))
        pending = []
        if request.user.role in (Role.SUPERVISOR, Role.ADMIN) and agent_id is None:
            pending = [PendingApprovalItem(
                approval_id=r["approval_id"], case_id=r["case_id"], kind=r["kind"],
                reasons=list(r["reasons"]), requested_at=r["requested_at"],
                requested_by=r["requested_by"], requester_agent=r["requester_agent"])
                for r in await negotiation_queries.approvals(
                    pool, tenant, status="pending", case_id=None, after_seq=0,
                    limit=PENDING_APPROVALS_SHOWN)]
        return WorkQueue(items, as_of, None, pending)
