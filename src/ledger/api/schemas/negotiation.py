"""Bodies of the offer policy, offers, approvals and complaints routes (API.md v1.1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from ledger.api.schemas.common import Amount, Instant, Reason, Request
from ledger.domain.complaints.codes import ROOT_CAUSES

Pct = Annotated[int, msgspec.Meta(ge=0, le=100, description="Whole percent of the balance.")]
RootCause = Literal[ROOT_CAUSES]  # type: ignore[valid-type]


class TierIn(Request):
    dpd_min: Annotated[int, msgspec.Meta(ge=0, le=36_500)]
    pct: Annotated[int, msgspec.Meta(ge=1, le=100)]


class AuthorityIn(Request):
    max_waiver_pct: Pct
    min_settlement_pct: Pct


class AuthorityByRole(Request):
    """Limits per role: only ``agent`` and ``supervisor`` (a Struct, so the document says so)."""

    agent: AuthorityIn | None = None
    supervisor: AuthorityIn | None = None

    def items(self) -> list[tuple[str, AuthorityIn]]:
        """The roles given, as the domain's ``{role: limits}`` mapping expects them."""
        return [(role, limits) for role in ("agent", "supervisor")
                if (limits := getattr(self, role)) is not None]


class PolicyIn(Request):
    """A portfolio's offer policy; ``authority`` keys are ``agent`` and ``supervisor``."""

    settlement_min_pct: Annotated[list[TierIn], msgspec.Meta(min_length=1, max_length=50)]
    max_installments: Annotated[int, msgspec.Meta(ge=1, le=600)]
    min_installment: Amount
    max_term_days: Annotated[int, msgspec.Meta(ge=1, le=3650)]
    authority: AuthorityByRole = AuthorityByRole()


class TierOut(msgspec.Struct, frozen=True):
    dpd_min: int
    pct: int


class AuthorityOut(msgspec.Struct, frozen=True):
    max_waiver_pct: int
    min_settlement_pct: int


class PolicyOut(msgspec.Struct, frozen=True):
    """The current version of a portfolio's policy (``version`` counts its changes)."""

    portfolio: str
    version: int
    updated_at: datetime
    settlement_min_pct: list[TierOut]
    max_installments: int
    min_installment: int
    max_term_days: int
    authority: dict[str, AuthorityOut]


class SettlementOut(msgspec.Struct, frozen=True):
    amount: int
    pct: int
    valid_until: datetime
    """The end of the debtor's local day the offer was computed for."""


class PlanOut(msgspec.Struct, frozen=True):
    installments: int
    amount: int
    """The regular instalment; ``last_amount`` carries the remainder."""
    first_due_date: date
    last_amount: int
    last_due_date: date


class OffersOut(msgspec.Struct, frozen=True):
    settlement: SettlementOut
    plans: list[PlanOut]
    case_id: UUID
    portfolio: str
    policy_version: int
    currency: str
    balance: int
    days_past_due: int


class ApprovalPending(msgspec.Struct, frozen=True):
    """``202``: the request is beyond the caller's authority and waits for a decision."""

    approval_id: UUID
    status: str
    case_id: UUID
    version: int
    reasons: list[str]


class DecisionIn(Request):
    decision: Literal["approve", "decline"]
    reason: Reason | None = None


class ApprovalOut(msgspec.Struct, frozen=True):
    approval_id: UUID
    case_id: UUID
    kind: str
    """``arrangement`` or ``waiver``."""
    status: str
    """``pending``, ``approved`` or ``declined``."""
    reasons: list[str]
    request: dict[str, Any]
    """What was asked: the arrangement (kind, installments, waive_interest, agreed_at) or the
    waiver (amount, reason, occurred_at)."""
    requested_at: datetime
    requested_by: str
    """The API key id that asked."""
    requester_agent: str | None
    requester_role: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None


class DecisionOut(msgspec.Struct, frozen=True, omit_defaults=True):
    approval_id: UUID
    status: str
    case_id: UUID
    version: int
    case_status: str
    balance: int
    decided_at: datetime
    arrangement_id: UUID | None = None


class ApprovalPage(msgspec.Struct, frozen=True):
    items: list[ApprovalOut]
    next_cursor: str | None
    as_of_position: int


class ComplaintIn(Request):
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    received_at: Instant
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    summary: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    pause_collection: bool = False


class ComplaintCreated(msgspec.Struct, frozen=True, omit_defaults=True):
    complaint_id: UUID
    respond_by: datetime
    """The last second (23:59:59) of the last day to give a final response, with the
    debtor's UTC offset (so its date is that day as the debtor sees it)."""
    respond_by_date: date
    case_id: UUID
    version: int
    status: str
    hold_id: UUID | None = None


class ResolutionIn(Request):
    outcome: Literal["upheld", "rejected", "partial"]
    root_cause: RootCause
    resolved_at: Instant
    redress: Amount | None = None
    """Minor units waived from the balance as redress (not for a rejected complaint)."""


class ComplaintOut(msgspec.Struct, frozen=True):
    complaint_id: UUID
    case_id: UUID
    category: str
    channel: str
    received_at: datetime
    respond_by: datetime
    overdue: bool
    hold_id: UUID | None
    resolved_at: datetime | None
    outcome: str | None
    root_cause: str | None
    redress: int | None


class ComplaintResolvedOut(msgspec.Struct, frozen=True):
    complaint_id: UUID
    case_id: UUID
    version: int
    status: str
    balance: int
    overdue: bool
    redress_approval_id: UUID | None = None
    """Set when the redress exceeds the caller's waiver authority: not applied, it waits
    for this approval (``GET /v1/approvals/{id}``); the resolution itself is recorded."""


class ComplaintList(msgspec.Struct, frozen=True):
    items: list[ComplaintOut]
    next_cursor: str | None = None


class ComplaintMetricsItem(msgspec.Struct, frozen=True, kw_only=True):
    """Complaints received in the period, of one group."""

    group: str
    received: int
    resolved: int
    open: int
    overdue: int
    """Unanswered past ``respond_by`` (now, or when they were resolved)."""
    upheld: int
    partial: int
    rejected: int
    redress_amount: int
    resolution_hours_p50: float | None
    """Time from receipt to resolution, percentiles in hours (resolved complaints only)."""
    resolution_hours_p90: float | None
    resolution_hours_p95: float | None


class ComplaintMetrics(msgspec.Struct, frozen=True):
    items: list[ComplaintMetricsItem]
    as_of_position: int


class ApprovalMetricsItem(msgspec.Struct, frozen=True, kw_only=True):
    """Approvals requested in the period, of one group."""

    group: str
    requested: int
    approved: int
    declined: int
    pending: int
    approval_rate: float | None
    """approved ÷ (approved + declined), 4 decimals."""
    decision_hours_p50: float | None
    decision_hours_p90: float | None


class ApprovalMetrics(msgspec.Struct, frozen=True):
    items: list[ApprovalMetricsItem]
    as_of_position: int
