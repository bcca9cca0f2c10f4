"""Placement, import and the case view."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from ledger.api.schemas.common import SPACE, Component, Currency, Instant, Ref, Request, TimeZone
from ledger.domain.case_commands import MAX_DAYS_PAST_DUE

Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]+$")]
# No NUL either (as every request text): with a pattern of its own the document must say so.
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254,
                                    pattern=rf"^[^@{SPACE}\x00]+@[^@{SPACE}\x00]+$")]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DebtorIn(Request):
    """The debtor: personal data (encrypted at rest, erasable) plus where they live."""

    name: Text200
    timezone: TimeZone
    jurisdiction: Annotated[str, msgspec.Meta(
        pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
        description="ISO 3166 country, optionally with subdivision: US-TX, GB, CN.")]
    phones: Annotated[list[Phone], msgspec.Meta(max_length=10)] = []
    emails: Annotated[list[Email], msgspec.Meta(max_length=10)] = []
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class PlaceCase(Request):
    """Place a delinquent account for collection. ``external_ref`` is unique per tenant."""

    external_ref: Ref
    portfolio: Ref
    product: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    currency: Currency
    principal: Component
    interest: Component
    fees: Component
    past_due_amount: Component
    days_past_due: Annotated[int, msgspec.Meta(ge=0, le=MAX_DAYS_PAST_DUE)]  # the domain's bound
    placed_at: Instant
    debtor: DebtorIn


class ImportRejection(msgspec.Struct, frozen=True):
    """A line of an import that was not stored, and why."""

    line: int
    """1-based line number in the uploaded body."""
    code: str
    detail: str


class ImportResult(msgspec.Struct, frozen=True):
    """Outcome of an NDJSON import: good lines are stored even when others are rejected."""

    accepted: int
    """Lines that placed a new case."""
    duplicates: int
    """Lines identical to an existing placement (nothing stored)."""
    rejected: list[ImportRejection]


class DebtorView(msgspec.Struct, frozen=True):
    """The debtor as readable now; after erasure personal fields are null and ``erased`` true."""

    name: str | None
    phones: list[str] | None
    emails: list[str] | None
    address: str | None
    timezone: str
    jurisdiction: str
    erased: bool = False


class PromiseView(msgspec.Struct, frozen=True):
    promise_id: UUID
    amount: int
    due_date: date
    status: str
    """``pending``, ``kept`` or ``broken``."""


class InstalmentView(msgspec.Struct, frozen=True):
    due_date: date
    amount: int
    status: str
    """``pending``, ``paid`` or ``missed``."""


class ArrangementView(msgspec.Struct, frozen=True):
    arrangement_id: UUID
    kind: str
    status: str
    """``active``, ``completed`` or ``defaulted``."""
    installments: list[InstalmentView]
    waive_interest: bool
    agreed_at: datetime


class HoldView(msgspec.Struct, frozen=True):
    hold_id: UUID
    kind: str
    starts_at: datetime
    until: datetime | None


class DisputeView(msgspec.Struct, frozen=True):
    dispute_id: UUID
    reason: str
    opened_at: datetime


class PendingApprovalView(msgspec.Struct, frozen=True):
    approval_id: UUID
    kind: str
    reasons: list[str]
    requested_at: datetime
    requested_by: str


class OpenComplaintView(msgspec.Struct, frozen=True):
    complaint_id: UUID
    category: str
    received_at: datetime
    respond_by: datetime
    overdue: bool
class ScoreReasonView(msgspec.Struct):
    code: str
    points: int


class ScoreView(msgspec.Struct, omit_defaults=True):
    value: int
    model_version: str
    scored_at: datetime
    reasons: list[ScoreReasonView] | None = None
    """Only for ``behaviour``: the points table's lines that applied (README)."""


class CaseView(msgspec.Struct, frozen=True):
    """A case as it stands: built from its snapshot and events, so it includes your last write."""

    case_id: UUID
    version: int
    external_ref: str
    portfolio: str
    product: str
    status: str
    """One of ``active, promised, arrangement, disputed, on_hold, legal, closed``."""
    currency: str
    placed_balance: int
    balance: int
    principal: int
    interest: int
    fees: int
    paid_total: int
    """Payments minus reversals."""
    days_past_due: int
    dpd_bucket: str | None
    assigned_to: str | None
    holds: list[HoldView]
    """Holds in force now."""
    ceased_channels: list[str]
    open_dispute: DisputeView | None
    active_promise: PromiseView | None
    arrangement: ArrangementView | None
    last_contact_at: datetime | None
    next_contact_allowed_at: datetime | None
    """Earliest time a phone call is allowed, null if none can be (cease, hold)."""
    placed_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    debtor: DebtorView
    pending_approvals: list[PendingApprovalView] = []
    """Requests beyond authority waiting for a decision (issue 15)."""
    open_complaints: list[OpenComplaintView] = []
    """Complaints without a final response yet, with their deadline (issue 15)."""
    scores: dict[str, ScoreView] = {}
    """Latest score per model (by ``scored_at``), always with Ledger's own ``behaviour``."""
    credit: int = 0
    """Owed back to the debtor (an overpayment, or a waiver a later-reported payment left
    nothing to forgive): ``balance`` = principal + interest + fees − credit."""


PLACE_EXAMPLE = {
    "external_ref": "CC-000123", "portfolio": "cards-2026q3", "product": "credit_card",
    "currency": "USD", "principal": 250000, "interest": 31250, "fees": 3900,
    "past_due_amount": 45000, "days_past_due": 95, "placed_at": "2026-09-01T09:00:00Z",
    "debtor": {"name": "Ana Li", "phones": ["+15551234567"], "emails": ["ana@example.com"],
               "timezone": "America/Chicago", "jurisdiction": "US-TX"},
}
