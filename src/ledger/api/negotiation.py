"""Maker–checker around the arrangement and waiver routes: the policy of the case's
portfolio decides whether a request is applied (``201``) or waits for approval (``202``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec

from ledger.api.commands import record_fact
from ledger.api.schemas.facts import FactRecorded
from ledger.api.schemas.negotiation import ApprovalPending
from ledger.api.views import fact_recorded
from ledger.domain.case import Case
from ledger.domain.negotiation.case_approvals import KeyHolder, Negotiated
from ledger.domain.negotiation.terms import OfferTerms
from ledger.services.cases import CaseService
from ledger.services.keys import ApiKey
from ledger.services.negotiation import NegotiationService

PENDING_RESPONSE = {202: ResponseSpec(
    data_container=ApprovalPending, generate_examples=False,
    description="Beyond the caller's authority or the portfolio's policy: not applied, "
                "waiting for a decision (event `ApprovalRequested`).")}


def key_holder(key: ApiKey) -> KeyHolder:
    """The person behind a key: its id, role and bound agent (keys bound to people)."""
    return KeyHolder(key.key_id, str(key.role), getattr(key, "agent_id", None))


async def policy_for_case(request: Request, case_id: UUID) -> OfferTerms | None:
    """The offer policy of the case's portfolio (404 if the case is not the tenant's)."""
    service: CaseService = request.app.state.cases
    negotiation: NegotiationService = request.app.state.negotiation
    tenant = request.user.tenant_id
    portfolio = (await service.load(tenant, case_id)).portfolio
    policy = await negotiation.policy(tenant, portfolio)
    return None if policy is None else policy.terms


async def negotiate(
    request: Request, case_id: UUID, command: Callable[[Case, datetime], Negotiated],
    applied: Callable[[Negotiated], dict[str, Any]],
) -> Response[bytes]:
    """Run an asking command: ``201`` with the fact, or ``202`` with the approval."""
    service: CaseService = request.app.state.cases
    outcome: list[Negotiated] = []

    def run(case: Case, now: datetime) -> Negotiated:
        result = command(case, now)
        outcome[:] = [result]
        return result

    def reply(case: Case, result: Negotiated) -> tuple[int, Any]:
        if result.approval_id is not None:
            return 202, ApprovalPending(result.approval_id, "pending", case.id,
                                        case.version, list(result.reasons))
        body: FactRecorded = fact_recorded(case, service.clock(), **applied(result))
        return 201, body

    response = await record_fact(request, case_id, run, reply=reply)
    if outcome and outcome[0].approval_id is not None and response.status_code == 202:
        negotiation: NegotiationService = request.app.state.negotiation
        await negotiation.remember_approval(request.user.tenant_id, outcome[0].approval_id,
                                            case_id)
    return response
