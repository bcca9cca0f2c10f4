"""Maker–checker approvals: the list, one approval, and the decision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from ledger.api import auth
from ledger.api.commands import context, if_match
from ledger.api.controllers.case_list import Cursor, Limit, parse_cursor
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.negotiation import key_holder, policy_for_case
from ledger.api.problems import ProblemError
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.schemas.negotiation import (
    ApprovalOut,
    ApprovalPage,
    DecisionIn,
    DecisionOut,
)
from ledger.api.views import encode
from ledger.domain.case import Case
from ledger.domain.negotiation.case_approvals import ApprovalRecord, Negotiated
from ledger.projections import as_of_position, queries
from ledger.projections import negotiation_queries as nq
from ledger.services.cases import CaseService
from ledger.services.keys import Role
from ledger.services.negotiation import NegotiationService

LIST_ROLES = (Role.SUPERVISOR, Role.AUDITOR)
READ_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.INTEGRATION)
DECIDERS = (Role.SUPERVISOR,)


def _request_out(asked: Any) -> dict[str, Any]:
    """The request as the API spells it: ``installments``, as in the arrangement body and the
    case view (the event keeps the domain's ``instalments``)."""
    document = dict(asked)
    if "instalments" in document:
        document["installments"] = document.pop("instalments")
    return document


def approval_out(case_id: UUID, record: ApprovalRecord) -> ApprovalOut:
    asked = record.arrangement if record.arrangement is not None else record.waiver
    return ApprovalOut(
        approval_id=record.approval_id, case_id=case_id, kind=record.kind,
        status=record.status, reasons=list(record.reasons),
        request=_request_out(msgspec.to_builtins(asked)),
        requested_at=record.requested_at, requested_by=record.requested_by,
        requester_agent=record.requester_agent, requester_role=record.requester_role,
        decided_at=record.decided_at, decided_by=record.decided_by,
        decision_reason=record.decision_reason,
    )


def _row_out(row: Any) -> ApprovalOut:
    return ApprovalOut(
        approval_id=row["approval_id"], case_id=row["case_id"], kind=row["kind"],
        status=row["status"], reasons=list(row["reasons"]),
        request=_request_out(msgspec.json.decode(row["request"])),
        requested_at=row["requested_at"],
        requested_by=row["requested_by"], requester_agent=row["requester_agent"],
        requester_role=row["requester_role"], decided_at=row["decided_at"],
        decided_by=row["decided_by"], decision_reason=row["decision_reason"],
    )


def unknown_approval() -> ProblemError:
    return ProblemError(404, "not_found", "no such approval")


async def _case_of(request: Request, approval_id: UUID) -> UUID:
    negotiation: NegotiationService = request.app.state.negotiation
    case_id = await negotiation.case_of_approval(request.user.tenant_id, approval_id)
    if case_id is None:
        raise unknown_approval()
    return case_id


class ApprovalController(Controller):
    """Requests beyond authority, waiting for (or decided by) a second person."""

    path = "/v1/approvals"
    tags = ["offers and approvals"]

    @get("/", operation_id="listApprovals", opt=auth.allow(*LIST_ROLES),
         responses=responses(), parameters=MIN_POSITION)
    async def list_approvals(
        self, request: Request,
        status: Annotated[Literal["pending", "approved", "declined"] | None,
                          QueryParameter(description="Only approvals in this status.")] = None,
        case_id: Annotated[UUID | None, QueryParameter(description="Only this case's.")] = None,
        limit: Limit = 50, cursor: Cursor = None,
    ) -> ApprovalPage:
        """Approvals oldest request first (read model ``negotiation``)."""
        after = parse_cursor("approvals", cursor, (int,))
        pool = await read_pool(request, "negotiation")
        as_of = await as_of_position(pool, "negotiation")
        rows = await nq.approvals(pool, request.user.tenant_id, status=status, case_id=case_id,
                                  after_seq=after[0] if after else 0, limit=limit + 1)
        items = [_row_out(row) for row in rows[:limit]]
        next_cursor = (queries.encode_cursor("approvals", [rows[limit - 1]["seq"]])
                       if len(rows) > limit else None)
        return ApprovalPage(items, next_cursor, as_of)

    @get("/{approval_id:uuid}", operation_id="getApproval", opt=auth.allow(*READ_ROLES),
         responses=responses(404))
    async def get_approval(self, request: Request, approval_id: FromPath[UUID]) -> ApprovalOut:
        """One approval as its case's events say now (no read-model delay)."""
        case_id = await _case_of(request, approval_id)
        service: CaseService = request.app.state.cases
        case = await service.load(request.user.tenant_id, case_id)
        record = case.approvals.get(approval_id)
        if record is None:
            raise unknown_approval()
        return approval_out(case_id, record)

    @post("/{approval_id:uuid}/decision", operation_id="decideApproval", status_code=201,
          opt=auth.allow(*DECIDERS), responses=responses(404, 409, 412))
    async def decide(self, request: Request, approval_id: FromPath[UUID],
                     data: JSONBody[DecisionIn]) -> DecisionOut:
        """Approve (the request is applied exactly as asked, as of now: ``ApprovalDecided``
        then the usual events) or decline. Refusals: ``409 same_maker_checker`` (the key that
        asked), ``409 already_decided``, ``403 beyond_authority`` (beyond the decider's own
        authority), and the domain's usual ``409`` codes when the case changed so that the
        request no longer applies (``case_closed``, ``arrangement_exceeds_balance``, …)."""
        case_id = await _case_of(request, approval_id)
        policy = await policy_for_case(request, case_id)
        checker = key_holder(request.user)
        service: CaseService = request.app.state.cases
        ctx = context(request)
        expected = if_match(request)

        def command(case: Case, now: datetime) -> Negotiated:
            return case.decide_approval(approval_id=approval_id, decision=data.decision,
                                        reason=data.reason, checker=checker, policy=policy,
                                        decided_at=now)

        def render(case: Case, result: Negotiated) -> tuple[int, bytes]:
            record = case.approvals[approval_id]
            now = service.clock()
            return 201, encode(DecisionOut(
                approval_id=approval_id, status=record.status, case_id=case.id,
                version=case.version, case_status=str(case.status(now)), balance=case.balance,
                decided_at=record.decided_at or now, arrangement_id=result.fact_id))

        async def action(idempotency: Any) -> Any:
            return await service.execute(ctx, case_id, command, render,
                                         idempotency=idempotency, expected_version=expected)

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

