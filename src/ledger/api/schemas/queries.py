"""Responses of the read-model lists: cases, work queue, compliance breaches, audit trail.

``as_of_position`` in every list is the number of feed events the read model had applied
when it answered (its offset in the gap-free feed), so a client can tell how fresh it is.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec


class PromiseSummary(msgspec.Struct, frozen=True):
    """The case's latest promise."""

    promise_id: UUID
    amount: int
    due_date: date
    status: str
    """``pending``, ``kept`` or ``broken``."""


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A case as the read model has it (no debtor data; GET the case for its full view)."""

    case_id: UUID
    version: int
    external_ref: str
    portfolio: str
    product: str
    status: str
    currency: str
    placed_balance: int
    balance: int
    principal: int
    interest: int
    fees: int
    credit: int
    """Owed back to the debtor (an overpayment): ``balance`` = principal + interest + fees −
    credit."""
    paid_total: int
    days_past_due: int
    dpd_bucket: str | None
    assigned_to: str | None
    active_promise: PromiseSummary | None
    last_contact_at: datetime | None
    placed_at: datetime
    closed_at: datetime | None
    close_reason: str | None


class CasePage(msgspec.Struct, frozen=True):
    """A page of cases in placement order; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[CaseSummary]
    next_cursor: str | None
    as_of_position: int


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """A case to work, with when it may next be phoned."""

    case: CaseSummary
    priority: int
    """1-based rank in this queue."""
    broken_promise: bool
    next_contact_allowed_at: datetime | None
    """From the case's compliance rules now; null when no phone contact is allowed at all."""
    call_due: bool = False
    """A call step of the case's contact strategy is due (such cases come first)."""


class WorkQueue(msgspec.Struct, frozen=True):
    """Open cases of one agent (or unassigned), most urgent first."""

    items: list[WorkItem]
    as_of_position: int
    next_cursor: str | None = None
    """Always null: the queue is the ``limit`` most urgent cases now (ask again later)."""
    pending_approvals: list[PendingApprovalItem] = []
    """Supervisors and admins: requests beyond authority waiting for a decision, oldest
    first (up to 100; all of them at ``GET /v1/approvals?status=pending``)."""


class PendingApprovalItem(msgspec.Struct, frozen=True, kw_only=True):
    """An approval waiting in the supervisor's queue (issue 15)."""

    approval_id: UUID
    case_id: UUID
    kind: str
    reasons: list[str]
    requested_at: datetime
    requested_by: str
    requester_agent: str | None


class BreachItem(msgspec.Struct, frozen=True, kw_only=True):
    """A compliance rule a recorded contact broke."""

    case_id: UUID
    version: int
    """Version of the ContactRecorded event that carries the breach."""
    rule: str
    detail: str
    agent_id: str | None
    channel: str
    occurred_at: datetime
    recorded_at: datetime


class BreachPage(msgspec.Struct, frozen=True):
    """Breaches in business-time order."""

    items: list[BreachItem]
    next_cursor: str | None
    as_of_position: int


class AuditItem(msgspec.Struct, frozen=True, kw_only=True):
    """One event: who recorded what, when it happened and when it was recorded."""

    position: int | None
    """The event's position, as in its history, the feed and ``Ledger-Position`` (null if
    the stored event is gone: ``verify`` says why). The trail is in feed order."""
    case_id: UUID
    version: int
    type: str
    actor: str | None
    occurred_at: datetime
    recorded_at: datetime
    amount: int | None
    """Minor units moved or promised, where the event has one."""
    correlation_id: UUID | None


class AuditPage(msgspec.Struct, frozen=True):
    """A page of the audit trail, oldest first."""

    items: list[AuditItem]
    next_cursor: str | None
    as_of_position: int
