"""Complaints about a case: received with a response deadline, resolved with a root cause."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from ledger.api import auth, paging
from ledger.api.commands import record_fact
from ledger.api.docs import responses
from ledger.api.negotiation import key_holder, policy_for_case
from ledger.api.schemas.negotiation import (
    ComplaintCreated,
    ComplaintIn,
    ComplaintList,
    ComplaintOut,
    ComplaintResolvedOut,
    ResolutionIn,
)
from ledger.domain.case import Case
from ledger.domain.complaints.case_complaints import ComplaintRecord
from ledger.services.cases import CaseService
from ledger.services.negotiation import NegotiationService

COMPLAINT_EXAMPLE = {"category": "collection_conduct", "received_at": "2026-10-02T10:00:00Z",
                     "channel": "phone", "summary": "Called three times in one evening",
                     "pause_collection": True}
RESOLUTION_EXAMPLE = {"outcome": "upheld", "root_cause": "contact_frequency",
                      "resolved_at": "2026-10-09T16:00:00Z", "redress": 2500}


def complaint_out(case_id: UUID, c: ComplaintRecord) -> ComplaintOut:
    return ComplaintOut(c.complaint_id, case_id, c.category, c.channel, c.received_at,
                        c.respond_by, c.overdue, c.hold_id, c.resolved_at, c.outcome,
                        c.root_cause, c.redress)


class ComplaintController(Controller):
    """Complaints and their resolution."""

    path = "/v1/cases"
    tags = ["complaints"]

    @post("/{case_id:uuid}/complaints", operation_id="receiveComplaint", status_code=201,
          opt=auth.allow(*auth.SHARED_WRITES), responses=responses(404, 409, 412))
    async def receive(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[ComplaintIn, Body(examples=[Example(value=COMPLAINT_EXAMPLE)])],
    ) -> ComplaintCreated:
        """Record a complaint (closed cases too). ``respond_by`` is the end, in the debtor's
        time zone, of the last day for a final response: GB 8 weeks, US and others 15 days
        (``LEDGER_COMPLAINT_RESPONSE_DAYS``). ``pause_collection`` places a ``complaint``
        hold that the resolution releases. Unresolved past ``respond_by``: a
        ``complaint_overdue`` breach."""
        negotiation: NegotiationService = request.app.state.negotiation

        def command(case: Case, now: object) -> ComplaintRecord:
            return case.receive_complaint(
                category=data.category, channel=data.channel, summary=data.summary,
                received_at=data.received_at, pause_collection=data.pause_collection,
                response_days=negotiation.response_days(case.jurisdiction),
                now=now,  # type: ignore[arg-type]
            )

        def reply(case: Case, c: ComplaintRecord) -> tuple[int, ComplaintCreated]:
            service: CaseService = request.app.state.cases
            return 201, ComplaintCreated(
                complaint_id=c.complaint_id, respond_by=c.respond_by,
                respond_by_date=c.respond_by_date, case_id=case.id, version=case.version,
                status=str(case.status(service.clock())), hold_id=c.hold_id)

        return await record_fact(request, case_id, command, reply=reply)  # type: ignore[return-value]

    @post("/{case_id:uuid}/complaints/{complaint_id:uuid}/resolution",
          operation_id="resolveComplaint", status_code=201,
          opt=auth.allow(*auth.SHARED_WRITES), responses=responses(404, 409, 412))
    async def resolve(
        self, request: Request, case_id: FromPath[UUID], complaint_id: FromPath[UUID],
        data: Annotated[ResolutionIn, Body(examples=[Example(value=RESOLUTION_EXAMPLE)])],
    ) -> ComplaintResolvedOut:
        """Resolve a complaint: ``outcome``, a required ``root_cause`` from the documented
        list, and optional ``redress`` (minor units, waived from the balance). Releases the
        complaint's hold. Redress is a waiver: under the portfolio's offer policy, redress
        above the caller role's ``max_waiver_pct`` of the balance is not applied but waits
        for approval (``redress_approval_id``; reason ``complaint redress``) while the
        resolution is recorded. Refusals: ``unknown_complaint``, ``complaint_resolved``,
        ``waiver_exceeds_balance``, ``case_closed`` (redress on a closed case)."""
        policy = await policy_for_case(request, case_id) if data.redress is not None else None
        asker = key_holder(request.user)
        parked: list[UUID] = []

        def command(case: Case, now: datetime) -> ComplaintRecord:
            record, negotiated = case.negotiate_complaint_resolution(
                complaint_id=complaint_id, outcome=data.outcome, root_cause=data.root_cause,
                resolved_at=data.resolved_at, redress=data.redress, asker=asker,
                policy=policy, now=now)
            parked[:] = [negotiated.approval_id] if negotiated.approval_id else []
            return record

        def reply(case: Case, c: ComplaintRecord) -> tuple[int, ComplaintResolvedOut]:
            return 201, ComplaintResolvedOut(c.complaint_id, case.id, case.version, "resolved",
                                             case.balance, c.overdue,
                                             parked[0] if parked else None)

        response = await record_fact(request, case_id, command, reply=reply)
        if parked and response.status_code == 201:
            negotiation: NegotiationService = request.app.state.negotiation
            await negotiation.remember_approval(request.user.tenant_id, parked[0], case_id)
        return response  # type: ignore[return-value]

    @get("/{case_id:uuid}/complaints", operation_id="listCaseComplaints",
         opt=auth.allow(*auth.EVERYONE), responses=responses(404))
    async def list_for_case(self, request: Request, case_id: FromPath[UUID],
                            limit: paging.Limit = 50,
                            cursor: paging.Cursor = None) -> ComplaintList:
        """The case's complaints, oldest first, as its events say now."""
        service: CaseService = request.app.state.cases
        case = await service.load(request.user.tenant_id, case_id)
        found, next_cursor = paging.page(
            "complaints", list(case.complaints.values()),
            lambda c: (c.received_at, str(c.complaint_id)), (datetime, str), limit, cursor)
        return ComplaintList([complaint_out(case_id, c) for c in found], next_cursor)


