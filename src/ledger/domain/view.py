"""The read-only picture of a case that the API renders and projections copy.

Status precedence (first match wins): ``closed`` > ``legal`` (escalated) > ``on_hold`` (a
hold in force at the time asked) > ``disputed`` (a dispute open) > ``arrangement`` (an
active arrangement) > ``promised`` (the latest promise is pending) > ``active``. Holds
outrank disputes because bankruptcy or death end collection whatever the dispute says.

``active_promise`` is the latest promise whatever its status (so a client sees "broken"
right after the scheduler marks it), or ``None`` if none was ever made.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.domain.delinquency import bucket_for, days_past_due
from ledger.domain.money import Allocation
from ledger.domain.promises import instalment_statuses
from ledger.domain.timeutil import aware_utc
from ledger.domain.values import (
    ArrangementKind,
    ArrangementStatus,
    CaseStatus,
    CloseReason,
    DisputeOutcome,
    HoldKind,
    InstalmentStatus,
    PaymentMethod,
    PromiseStatus,
)

if TYPE_CHECKING:
    from ledger.domain.case import Case


class HoldView(msgspec.Struct, frozen=True):
    hold_id: UUID
    kind: HoldKind
    starts_at: datetime
    until: datetime | None


class PromiseView(msgspec.Struct, frozen=True):
    promise_id: UUID
    amount: int
    due_date: date
    status: PromiseStatus


class InstalmentView(msgspec.Struct, frozen=True):
    due_date: date
    amount: int
    status: InstalmentStatus


class ArrangementView(msgspec.Struct, frozen=True):
    arrangement_id: UUID
    kind: ArrangementKind
    status: ArrangementStatus
    installments: list[InstalmentView]
    waive_interest: bool
    agreed_at: datetime


class PaymentView(msgspec.Struct, frozen=True):
    external_id: str
    amount: int
    currency: str
    received_at: datetime
    method: PaymentMethod
    allocation: Allocation
    reversed: bool
    reversed_at: datetime | None


class DisputeView(msgspec.Struct, frozen=True):
    dispute_id: UUID
    opened_at: datetime
    resolved_at: datetime | None
    outcome: DisputeOutcome | None


class CaseView(msgspec.Struct, frozen=True, kw_only=True):
    case_id: UUID
    version: int
    tenant_id: str
    external_ref: str
    portfolio: str
    product: str
    status: CaseStatus
    currency: str
    placed_balance: int
    balance: int
    principal: int
    interest: int
    fees: int
    paid_total: int
    credit: int
    days_past_due: int
    dpd_bucket: str | None
    assigned_to: str | None
    holds: list[HoldView]
    ceased_channels: list[str]
    open_dispute: DisputeView | None
    disputes: list[DisputeView]
    active_promise: PromiseView | None
    arrangement: ArrangementView | None
    payments: dict[str, PaymentView]
    last_contact_at: datetime | None
    placed_at: datetime
    closed_at: datetime | None
    close_reason: CloseReason | None
    timezone: str
    jurisdiction: str
    personal_data_erased: bool


def status_at(case: Case, at: datetime) -> CaseStatus:
    if case.is_closed:
        return CaseStatus.CLOSED
    if case.legal:
        return CaseStatus.LEGAL
    if any(hold.window.active_at(at) for hold in case.holds.values()):
        return CaseStatus.ON_HOLD
    if any(dispute.is_open for dispute in case.disputes.values()):
        return CaseStatus.DISPUTED
    if case.arrangement is not None and case.arrangement.status is ArrangementStatus.ACTIVE:
        return CaseStatus.ARRANGEMENT
    if case.promises and case.promises[-1].status is PromiseStatus.PENDING:
        return CaseStatus.PROMISED
    return CaseStatus.ACTIVE


def case_days_past_due(case: Case, at: datetime) -> int:
    return days_past_due(
        placed_days_past_due=case.placed_days_past_due, placed_at=case.placed_at,
        past_due_amount=case.past_due_amount, payments=case.payments.values(),
        timezone=case.timezone, at=aware_utc(at, "at"),
    )


def _dispute_view(case: Case) -> list[DisputeView]:
    return [
        DisputeView(d.dispute_id, d.opened_at, d.resolved_at, d.outcome)
        for d in case.disputes.values()
    ]


def arrangement_view(case: Case, at: datetime) -> ArrangementView | None:
    """The current arrangement with each instalment's status at ``at``."""
    current = case.arrangement
    if current is None:
        return None
    statuses = instalment_statuses(current, list(case.payments.values()), at)
    return ArrangementView(
        current.arrangement_id, current.kind, current.status,
        [InstalmentView(i.due_date, i.amount, s) for i, s in zip(current.instalments, statuses)],
        current.waive_interest, current.agreed_at,
    )


def case_view(case: Case, at: datetime, *, with_payments: bool = True) -> CaseView:
    """Everything the API shows about ``case``; ``at`` drives ageing and hold status."""
    at = aware_utc(at, "at")
    dpd = case_days_past_due(case, at)
    latest = case.promises[-1] if case.promises else None
    disputes = _dispute_view(case)
    return CaseView(
        case_id=case.id, version=case.version, tenant_id=case.tenant_id,
        external_ref=case.external_ref, portfolio=case.portfolio, product=case.product,
        status=status_at(case, at), currency=case.currency,
        placed_balance=case.placed_balance, balance=case.balance, principal=case.principal,
        interest=case.interest, fees=case.fees,
        paid_total=case.payments_total - case.reversals_total, credit=case.credit,
        days_past_due=dpd, dpd_bucket=bucket_for(dpd), assigned_to=case.assigned_to,
        holds=[
            HoldView(h.hold_id, h.kind, h.starts_at, h.window.until)
            for h in case.holds.values() if h.released_at is None
        ],
        ceased_channels=["all"] if case.ceased_all else [str(c) for c in case.ceased_channels],
        open_dispute=next((d for d in disputes if d.resolved_at is None), None),
        disputes=disputes,
        active_promise=(
            PromiseView(latest.promise_id, latest.amount, latest.due_date, latest.status)
            if latest else None
        ),
        arrangement=arrangement_view(case, at),
        payments={
            p.external_id: PaymentView(
                p.external_id, p.amount, p.currency, p.received_at, p.method, p.allocation,
                p.reversed, p.reversed_at,
            )
            for p in (case.payments.values() if with_payments else ())
        },
        last_contact_at=case.last_contact_at, placed_at=case.placed_at,
        closed_at=case.closed_at, close_reason=case.close_reason, timezone=case.timezone,
        jurisdiction=case.jurisdiction, personal_data_erased=case.personal_data_erased,
    )
