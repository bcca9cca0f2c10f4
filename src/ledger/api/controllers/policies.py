"""Offer policies per portfolio, and the offers they allow on a case today."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, put
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from ledger.api import auth
from ledger.api.commands import context
from ledger.api.docs import responses
from ledger.api.problems import ProblemError, invalid
from ledger.api.schemas.negotiation import (
    AuthorityOut,
    OffersOut,
    PlanOut,
    PolicyIn,
    PolicyOut,
    SettlementOut,
    TierOut,
)
from ledger.domain.negotiation.offers import instalment_plans, settlement_offer
from ledger.domain.negotiation.policy import OfferPolicy
from ledger.domain.negotiation.terms import RoleAuthority, SettlementTier, validate_terms
from ledger.domain.timeutil import end_of_local_day, local_date
from ledger.services.cases import CaseService
from ledger.services.keys import Role
from ledger.services.negotiation import NegotiationService

POLICY_EXAMPLE = {
    "settlement_min_pct": [{"dpd_min": 0, "pct": 80}, {"dpd_min": 181, "pct": 50}],
    "max_installments": 12, "min_installment": 2500, "max_term_days": 365,
    "authority": {"agent": {"max_waiver_pct": 10, "min_settlement_pct": 80},
                  "supervisor": {"max_waiver_pct": 50, "min_settlement_pct": 40}},
}
POLICY_WRITERS = (Role.SUPERVISOR,)
OFFER_READERS = (Role.AGENT, Role.SUPERVISOR, Role.INTEGRATION)


def no_policy(portfolio: str) -> ProblemError:
    return ProblemError(404, "no_policy", f"portfolio {portfolio!s:.255} has no offer policy")


def policy_out(policy: OfferPolicy) -> PolicyOut:
    terms = policy.terms
    return PolicyOut(
        portfolio=policy.portfolio, version=policy.version, updated_at=policy.modified_on,
        settlement_min_pct=[TierOut(t.dpd_min, t.pct) for t in terms.settlement_min_pct],
        max_installments=terms.max_installments, min_installment=terms.min_installment,
        max_term_days=terms.max_term_days,
        authority={role: AuthorityOut(a.max_waiver_pct, a.min_settlement_pct)
                   for role, a in terms.authority.items()},
    )


class PolicyController(Controller):
    """A portfolio's offer policy: settlement floors, instalment limits, authority limits."""

    path = "/v1/policies"
    tags = ["offers and approvals"]

    @put("/{portfolio:str}", operation_id="putPolicy", status_code=200,
         opt=auth.allow(*POLICY_WRITERS), responses=responses(409))
    async def put_policy(
        self, request: Request, portfolio: FromPath[str],
        data: Annotated[PolicyIn, Body(examples=[Example(value=POLICY_EXAMPLE)])],
    ) -> PolicyOut:
        """Set the portfolio's offer policy. Each change is a new version on the policy's own
        stream (event ``Defined`` then ``Revised``); the same document again changes nothing."""
        if not portfolio or len(portfolio) > 255 or "\x00" in portfolio:
            raise invalid("portfolio", "1 to 255 characters")
        terms = validate_terms(
            [SettlementTier(t.dpd_min, t.pct) for t in data.settlement_min_pct],
            data.max_installments, data.min_installment, data.max_term_days,
            {role: RoleAuthority(a.max_waiver_pct, a.min_settlement_pct)
             for role, a in data.authority.items()},
        )
        negotiation: NegotiationService = request.app.state.negotiation
        return policy_out(await negotiation.save_policy(context(request), portfolio, terms))

    @get("/{portfolio:str}", operation_id="getPolicy", opt=auth.allow(*auth.EVERYONE),
         responses=responses(404))
    async def get_policy(self, request: Request, portfolio: FromPath[str]) -> PolicyOut:
        """The portfolio's current policy; ``404 no_policy`` when it has none."""
        negotiation: NegotiationService = request.app.state.negotiation
        policy = await negotiation.policy(request.user.tenant_id, portfolio)
        if policy is None:
            raise no_policy(portfolio)
        return policy_out(policy)


class OfferController(Controller):
    """What an agent may quote, or a self-service page offer, today."""

    path = "/v1/cases"
    tags = ["offers and approvals"]

    @get("/{case_id:uuid}/offers", operation_id="caseOffers",
         opt=auth.allow(*OFFER_READERS), responses=responses(404, 409))
    async def offers(self, request: Request, case_id: FromPath[UUID]) -> OffersOut:
        """The settlement (the floor for the case's days past due, rounded up to a whole
        minor unit) and the monthly instalment plans the portfolio's policy allows today:
        2…``max_installments`` equal instalments, the remainder on the last, none below
        ``min_installment``, the last due within ``max_term_days``; the first due on the
        first day after today that the debtor's calendar allows (no weekend, no public
        holiday of their jurisdiction). ``409 no_policy`` when the case's portfolio has no
        policy (the case exists: 404 would say it does not); ``409 case_closed`` for a closed
        case."""
        service: CaseService = request.app.state.cases
        negotiation: NegotiationService = request.app.state.negotiation
        tenant = request.user.tenant_id
        case = await service.load(tenant, case_id)
        now = service.clock()
        balance, dpd = case.balance, case.days_past_due(now)
        portfolio, timezone, jurisdiction = case.portfolio, case.timezone, case.jurisdiction
        if case.is_closed:
            raise ProblemError(409, "case_closed", "a closed case has no offers")
        policy = await negotiation.policy(tenant, portfolio)
        if policy is None:
            raise ProblemError(409, "no_policy", f"portfolio {portfolio!s:.255} has no offer policy")
        today = local_date(now, timezone)
        settlement = settlement_offer(policy.terms, balance, dpd)
        plans = instalment_plans(policy.terms, balance, today, jurisdiction)
        return OffersOut(
            settlement=SettlementOut(settlement.amount, settlement.pct,
                                     end_of_local_day(today, timezone)),
            plans=[PlanOut(p.installments, p.amount, p.first_due_date, p.last_amount,
                           p.last_due_date) for p in plans],
            case_id=case.id, portfolio=portfolio, policy_version=policy.version,
            currency=case.currency, balance=balance, days_past_due=dpd,
        )
