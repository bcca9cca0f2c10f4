"""The life of a case: assignment, escalation, closure and reopening."""

from __future__ import annotations

from uuid import UUID

from litestar.params import FromPath, JSONBody
from litestar import Controller, Request, post

from ledger.api import auth
from ledger.api.commands import record_fact
from ledger.api.docs import responses
from ledger.api.schemas.facts import Assign, CloseCase, Escalate, FactRecorded, ReopenCase
from ledger.domain.timeutil import not_in_future


class AssignmentController(Controller):
    """Who works the case."""

    path = "/v1/cases"
    tags = ["assignment"]

    @post(
        "/{case_id:uuid}/assignment", operation_id="assignCase", status_code=201,
        opt=auth.allow(*auth.SUPERVISION), responses=responses(404, 409, 412),
    )
    async def assign(self, request: Request, case_id: FromPath[UUID], data: JSONBody[Assign]) -> FactRecorded:
        """Assign to an agent or an agency (exactly one). Refusals: ``case_closed``."""

        def command(case, now):  # type: ignore[no-untyped-def]
            at = data.assigned_at or now
            not_in_future(at, now, "assigned_at")
            return case.assign(assigned_at=at, agent_id=data.agent_id, agency=data.agency)

        return await record_fact(request, case_id, command)  # type: ignore[return-value]


class EscalationController(Controller):
    """Escalation to legal collection."""

    path = "/v1/cases"
    tags = ["escalation"]

    @post(
        "/{case_id:uuid}/escalation", operation_id="escalateCase", status_code=201,
        opt=auth.allow(*auth.SUPERVISION), responses=responses(404, 409, 412),
    )
    async def escalate(self, request: Request, case_id: FromPath[UUID], data: JSONBody[Escalate]) -> FactRecorded:
        """Escalate to legal (status ``legal``). Refusals: ``case_closed``."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.escalate(reason=data.reason, escalated_at=data.escalated_at, now=now),
        )


class ClosureController(Controller):
    """Closing a case."""

    path = "/v1/cases"
    tags = ["closure"]

    @post(
        "/{case_id:uuid}/closure", operation_id="closeCase", status_code=201,
        opt=auth.allow(*auth.LIFECYCLE), responses=responses(404, 409, 412),
    )
    async def close(self, request: Request, case_id: FromPath[UUID], data: JSONBody[CloseCase]) -> FactRecorded:
        """Close the case. Refusals: ``case_closed``, ``balance_outstanding`` (reason ``paid``)."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.close(reason=data.reason, closed_at=data.closed_at, now=now),
        )


class ReopeningController(Controller):
    """Reopening a closed case."""

    path = "/v1/cases"
    tags = ["closure"]

    @post(
        "/{case_id:uuid}/reopening", operation_id="reopenCase", status_code=201,
        opt=auth.allow(*auth.LIFECYCLE), responses=responses(404, 409, 412),
    )
    async def reopen(self, request: Request, case_id: FromPath[UUID], data: JSONBody[ReopenCase]) -> FactRecorded:
        """Reopen a closed case. Refusals: ``case_open``."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.reopen(reason=data.reason, reopened_at=data.reopened_at, now=now),
        )
