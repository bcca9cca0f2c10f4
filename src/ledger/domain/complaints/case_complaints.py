"""Complaints about a case: received with a response deadline, resolved with a root cause.

A mixin of ``Case`` (events and state changes in ``case.py``). ``pause_collection`` places
a ``complaint`` hold that the resolution releases; redress is a waiver. A complaint still
open after its deadline is recorded overdue (``ComplaintOverdue``, business time = the
second after the deadline) by the scheduler, or by the late resolution itself if the scheduler did not get
there first; the compliance projection reports it as a ``complaint_overdue`` breach.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.domain.complaints.codes import OUTCOMES, ROOT_CAUSES
from ledger.domain.complaints.deadlines import overdue_at, respond_by
from ledger.domain.errors import CaseClosed, DomainError, InvalidRequest
from ledger.domain.money import validate_amount
from ledger.domain.negotiation.authority import (
    POLICY_EXCEPTION_ROLES,
    WAIVER_ABOVE_AUTHORITY,
)
from ledger.domain.negotiation.case_approvals import KeyHolder, Negotiated, WaiverRequest
from ledger.domain.negotiation.terms import OfferTerms
from ledger.domain.timeutil import aware_utc, not_in_future
from ledger.domain.validation import required_text
from ledger.domain.values import HoldKind

if TYPE_CHECKING:
    from ledger.domain.case import Case

REDRESS_REASON = "complaint redress"


class UnknownComplaint(DomainError):
    code = "unknown_complaint"


class ComplaintResolved(DomainError):
    code = "complaint_resolved"


class ComplaintRecord(msgspec.Struct, frozen=True):
    complaint_id: UUID
    category: str
    channel: str
    received_at: datetime
    respond_by: datetime
    respond_by_date: date
    agent_id: str | None
    hold_id: UUID | None
    overdue: bool = False
    resolved_at: datetime | None = None
    outcome: str | None = None
    root_cause: str | None = None
    redress: int | None = None


class CaseComplaints:
    """Receiving, resolving and marking complaints overdue."""

    def receive_complaint(
        self: Case, *, category: str, channel: str, summary: str, received_at: datetime,
        pause_collection: bool, response_days: int, now: datetime | None = None,
    ) -> ComplaintRecord:
        """Record a complaint (closed cases too: it happened); returns it with its deadline."""
        category = required_text(category, "category", 100)
        channel = required_text(channel, "channel", 50)
        summary = required_text(summary, "summary", 4000)
        received_at = aware_utc(received_at, "received_at")
        not_in_future(received_at, now, "received_at")
        if not isinstance(pause_collection, bool):
            raise InvalidRequest("pause_collection", "must be true or false")
        last_day, deadline = respond_by(received_at, self.timezone, response_days)
        complaint_id = self._next_id("complaint")
        hold_id = self._next_id("complaint-hold") if pause_collection else None
        self._complaint_received(
            timestamp=received_at, complaint_id=complaint_id, category=category,
            channel=channel, summary=summary, respond_by=deadline, respond_by_date=last_day,
            agent_id=self.assigned_to, hold_id=hold_id)
        if hold_id is not None:
            self._hold_placed(timestamp=received_at, hold_id=hold_id, kind=HoldKind.COMPLAINT,
                              starts_at=received_at, until=None)
        return self.complaints[complaint_id]

    def resolve_complaint(
        self: Case, *, complaint_id: UUID, outcome: str, root_cause: str,
        resolved_at: datetime, redress: int | None = None, now: datetime | None = None,
    ) -> ComplaintRecord:
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise UnknownComplaint("no such complaint on this case")
        if complaint.resolved_at is not None:
            raise ComplaintResolved("the complaint is already resolved")
        if outcome not in OUTCOMES:
            raise InvalidRequest("outcome", f"must be one of {', '.join(OUTCOMES)}")
        if root_cause not in ROOT_CAUSES:
            raise InvalidRequest("root_cause", f"must be one of {', '.join(ROOT_CAUSES)}")
        resolved_at = aware_utc(resolved_at, "resolved_at")
        not_in_future(resolved_at, now, "resolved_at")
        if resolved_at < complaint.received_at:
            raise InvalidRequest("resolved_at", "is before the complaint was received")
        if redress is not None:
            redress = self._check_redress(outcome, redress, resolved_at)
        if not complaint.overdue and resolved_at >= overdue_at(complaint.respond_by):
            self._mark_complaint_overdue(complaint)
        self._complaint_resolved(timestamp=resolved_at, complaint_id=complaint_id,
                                 outcome=outcome, root_cause=root_cause, redress=redress)
        hold = self.holds.get(complaint.hold_id) if complaint.hold_id else None
        if hold is not None and hold.released_at is None:
            self._hold_released(timestamp=resolved_at, hold_id=hold.hold_id)
        if redress is not None:
            self._waive(redress, REDRESS_REASON, resolved_at)
        return self.complaints[complaint_id]

    def negotiate_complaint_resolution(
        self: Case, *, complaint_id: UUID, outcome: str, root_cause: str,
        resolved_at: datetime, redress: int | None, asker: KeyHolder,
        policy: OfferTerms | None, now: datetime,
    ) -> tuple[ComplaintRecord, Negotiated]:
        """``resolve_complaint`` under the portfolio's offer policy: redress is a waiver, so
        redress beyond the asker's waiver authority is not applied but waits for approval
        (``ApprovalRequested``, reason ``complaint redress``) while the resolution, a fact,
        is recorded at once. Without a policy, only the roles that may adjust balances
        (supervisor, admin) waive alone: an agent's or integration's redress waits for one."""
        if redress is not None:
            amount = self._check_redress(outcome, redress,
                                         aware_utc(resolved_at, "resolved_at"))
            if policy is not None:
                reasons = self._waiver_reasons(policy, asker.role, amount)
            else:
                reasons = [] if asker.role in POLICY_EXCEPTION_ROLES else [WAIVER_ABOVE_AUTHORITY]
            if reasons:
                record = self.resolve_complaint(
                    complaint_id=complaint_id, outcome=outcome, root_cause=root_cause,
                    resolved_at=resolved_at, redress=None, now=now)
                assert record.resolved_at is not None
                waiver = WaiverRequest(amount, REDRESS_REASON, record.resolved_at, complaint_id)
                return record, self._ask(asker, reasons, now, waiver=waiver)
        record = self.resolve_complaint(complaint_id=complaint_id, outcome=outcome,
                                        root_cause=root_cause, resolved_at=resolved_at,
                                        redress=redress, now=now)
        return record, Negotiated()

    def _check_redress(self: Case, outcome: str, redress: int, resolved_at: datetime) -> int:
        redress = validate_amount(redress, "redress")
        if outcome == "rejected":
            raise InvalidRequest("redress", "a rejected complaint gets no redress")
        if self.is_closed:
            raise CaseClosed("redress cannot be waived on a closed case")
        self.ensure_waivable(redress, resolved_at, "resolved_at", "redress")
        return redress

    def complaints_overdue(self: Case, now: datetime) -> list[ComplaintRecord]:
        return [c for c in self.complaints.values()
                if c.resolved_at is None and not c.overdue and overdue_at(c.respond_by) <= now]

    def mark_complaints_overdue(self: Case, now: datetime) -> list[UUID]:
        """Record ``ComplaintOverdue`` for every open complaint past its deadline at ``now``."""
        due = self.complaints_overdue(aware_utc(now, "now"))
        for complaint in due:
            self._mark_complaint_overdue(complaint)
        return [c.complaint_id for c in due]

    def _mark_complaint_overdue(self: Case, complaint: ComplaintRecord) -> None:
        self._complaint_overdue(timestamp=overdue_at(complaint.respond_by),
                                complaint_id=complaint.complaint_id,
                                agent_id=complaint.agent_id, channel=complaint.channel)
