"""Offer policies (their own streams) and the approval index, for the API.

The index maps an approval id to its case so ``POST /v1/approvals/{id}/decision`` can load
the case at once, without waiting for a read model. It is written right after the event
that created the approval is stored; it is only a hint (the case stream is the truth), and
if a crash lost a row the ``negotiation`` read model still knows the case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.domain.complaints.deadlines import DEFAULT_RESPONSE_DAYS, response_days
from ledger.domain.negotiation.policy import OfferPolicy, policy_id_for
from ledger.domain.negotiation.terms import OfferTerms
from ledger.eventstore import AggregateNotFound, ConcurrencyConflict, Repository
from ledger.services.cases import Context, RetriesExhausted

REMEMBER_APPROVAL_SQL = """
    INSERT INTO approval_cases (tenant_id, approval_id, case_id) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING
"""
CASE_OF_APPROVAL_SQL = """
    SELECT case_id FROM approval_cases WHERE tenant_id = $1 AND approval_id = $2
    UNION ALL
    SELECT case_id FROM rm_approvals WHERE tenant_id = $1 AND approval_id = $2
    LIMIT 1
"""
SAVE_ATTEMPTS = 5


class NegotiationService:
    """Policies by portfolio, complaint deadlines by jurisdiction, approvals by id."""

    def __init__(self, repository: Repository, pool: asyncpg.Pool,
                 clock: Callable[[], datetime],
                 complaint_days: Mapping[str, int] | None = None) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self.complaint_days = dict(complaint_days or DEFAULT_RESPONSE_DAYS)

    async def policy(self, tenant_id: str, portfolio: str) -> OfferPolicy | None:
        try:
            found: OfferPolicy = await self.repository.load(
                policy_id_for(tenant_id, portfolio), tenant_id=tenant_id)
        except AggregateNotFound:
            return None
        return found

    async def save_policy(self, ctx: Context, portfolio: str, terms: OfferTerms) -> OfferPolicy:
        """Define or revise the portfolio's policy (no new version when nothing changed)."""
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock()
            policy = await self.policy(ctx.tenant_id, portfolio)
            if policy is None:
                policy = OfferPolicy.define(tenant_id=ctx.tenant_id, portfolio=portfolio,
                                            terms=terms, at=now)
            elif not policy.revise(terms=terms, at=now):
                return policy
            try:
                await self.repository.save(policy, tenant_id=ctx.tenant_id, actor=ctx.actor,
                                           correlation_id=ctx.correlation_id)
            except ConcurrencyConflict:
                continue  # someone else saved a version meanwhile: judge again on theirs
            return policy
        raise RetriesExhausted(portfolio)

    def response_days(self, jurisdiction: str) -> int:
        return response_days(jurisdiction, self.complaint_days)

    async def remember_approval(self, tenant_id: str, approval_id: UUID, case_id: UUID) -> None:
        await self.pool.execute(REMEMBER_APPROVAL_SQL, tenant_id, approval_id, case_id)

    async def case_of_approval(self, tenant_id: str, approval_id: UUID) -> UUID | None:
        found: UUID | None = await self.pool.fetchval(CASE_OF_APPROVAL_SQL, tenant_id, approval_id)
        return found
