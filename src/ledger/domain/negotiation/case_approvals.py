"""Maker–checker on a case: arrangements and waivers beyond authority wait for approval.

A mixin of ``Case`` (its events and their state changes live in ``case.py``). The asking
command validates the request exactly as the direct command would, so only a request that
could be applied is ever parked; ``decide_approval`` applies exactly what was asked, as of
the decision, after judging it again on the case as it is then (a request that no longer
makes sense is refused with the domain's usual code and stays pending).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.money import validate_amount
from ledger.domain.negotiation.authority import (
    arrangement_reasons,
    checker_may_approve,
    waiver_reasons,
)
from ledger.domain.negotiation.terms import OfferTerms
from ledger.domain.timeutil import aware_utc, local_date, not_in_future
from ledger.domain.validation import optional_text, required_text
from ledger.domain.values import ArrangementKind, Instalment

if TYPE_CHECKING:
    from ledger.domain.case import Case

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"
DECISIONS = {"approve": APPROVED, "decline": DECLINED}


class UnknownApproval(DomainError):
    code = "not_found"
    http_status = 404


class AlreadyDecided(DomainError):
    code = "already_decided"


class SameMakerChecker(DomainError):
    code = "same_maker_checker"


class BeyondAuthority(DomainError):
    code = "beyond_authority"
    http_status = 403


class KeyHolder(msgspec.Struct, frozen=True):
    """Who asks or decides: the API key, its role, and the agent it is bound to (if any)."""

    key_id: str
    role: str
    agent_id: str | None = None


class ArrangementRequest(msgspec.Struct, frozen=True):
    kind: ArrangementKind
    instalments: tuple[Instalment, ...]
    waive_interest: bool
    agreed_at: datetime
    """When the debtor agreed (as asked); an approved plan is agreed as of the decision."""


class WaiverRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    amount: int
    reason: str
    occurred_at: datetime
    complaint_id: UUID | None = None
    """Set for a complaint's redress: approving it also records the complaint's redress."""


class ApprovalRecord(msgspec.Struct, frozen=True):
    approval_id: UUID
    kind: str
    reasons: tuple[str, ...]
    requested_at: datetime
    requested_by: str
    requester_agent: str | None
    requester_role: str
    arrangement: ArrangementRequest | None
    waiver: WaiverRequest | None
    status: str = PENDING
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_reason: str | None = None


class Negotiated(msgspec.Struct, frozen=True):
    """What an asking command did: applied (``fact_id``) or parked (``approval_id``)."""

    approval_id: UUID | None = None
    reasons: tuple[str, ...] = ()
    fact_id: UUID | None = None


class CaseApprovals:
    """Asking for arrangements and waivers under a policy, and deciding approvals."""

    def negotiate_arrangement(
        self: Case, *, kind: ArrangementKind | str, instalments: Sequence[Instalment],
        waive_interest: bool, agreed_at: datetime, asker: KeyHolder,
        policy: OfferTerms | None, now: datetime,
    ) -> Negotiated:
        kind, agreed_at, plan = self.check_arrangement(
            kind=kind, instalments=instalments, waive_interest=waive_interest,
            agreed_at=agreed_at, now=now)
        if policy is not None:
            reasons = self._arrangement_reasons(policy, asker.role, kind, plan, waive_interest,
                                                agreed_at)
            if reasons:
                request = ArrangementRequest(kind, plan, bool(waive_interest), agreed_at)
                return self._ask(asker, reasons, now, arrangement=request)
        return Negotiated(fact_id=self.agree_arrangement(
            kind=kind, instalments=plan, waive_interest=waive_interest, agreed_at=agreed_at,
            now=now))

    def negotiate_waiver(
        self: Case, *, amount: int, reason: str, occurred_at: datetime, asker: KeyHolder,
        policy: OfferTerms | None, now: datetime,
    ) -> Negotiated:
        amount, reason, occurred_at = self._check_waiver(amount, reason, occurred_at, now)
        if policy is not None:
            reasons = self._waiver_reasons(policy, asker.role, amount)
            if reasons:
                return self._ask(asker, reasons, now,
                                 waiver=WaiverRequest(amount, reason, occurred_at))
        self.adjust_balance(kind="waiver", amount=amount, reason=reason,
                            occurred_at=occurred_at, now=now)
        return Negotiated()

    def decide_approval(
        self: Case, *, approval_id: UUID, decision: str, reason: str | None,
        checker: KeyHolder, policy: OfferTerms | None, decided_at: datetime,
    ) -> Negotiated:
        """Approve (apply as of ``decided_at``) or decline a pending request."""
        record = self.approvals.get(approval_id)
        if record is None:
            raise UnknownApproval("no such approval")
        if record.status != PENDING:
            raise AlreadyDecided(f"the approval was already {record.status}")
        if checker.key_id == record.requested_by or (
                checker.agent_id is not None and checker.agent_id == record.requester_agent):
            raise SameMakerChecker("the key that asked may not decide")
        status = DECISIONS.get(decision)
        if status is None:
            raise InvalidRequest("decision", "must be approve or decline")
        reason = optional_text(reason, "reason", 1000)
        decided_at = aware_utc(decided_at, "decided_at")
        if status == DECLINED:
            self._approval_decided(timestamp=decided_at, approval_id=approval_id,
                                   decision=status, reason=reason, decided_by=checker.key_id,
                                   decider_agent=checker.agent_id, decider_role=checker.role)
            return Negotiated(approval_id=approval_id)
        return self._approve(record, reason, checker, policy, decided_at)

    # ---- helpers --------------------------------------------------------------------

    def _approve(self: Case, record: ApprovalRecord, reason: str | None, checker: KeyHolder,
                 policy: OfferTerms | None, at: datetime) -> Negotiated:
        asked, waiver = record.arrangement, record.waiver
        # Judge the request on the case as it is now, before anything is recorded.
        if asked is not None:
            kind, _, plan = self.check_arrangement(
                kind=asked.kind, instalments=asked.instalments,
                waive_interest=asked.waive_interest, agreed_at=at, now=at)
            current = (self._arrangement_reasons(policy, checker.role, kind, plan,
                                                 asked.waive_interest, at) if policy else [])
        else:
            assert waiver is not None
            current = (self._waiver_reasons(policy, checker.role, waiver.amount) if policy
                       else [])
            if not checker_may_approve(checker.role, current):  # the 403 before the 409s
                raise BeyondAuthority("the request is beyond the decider's own authority")
            self._check_waiver(waiver.amount, waiver.reason, at, at)
        if not checker_may_approve(checker.role, current):
            raise BeyondAuthority("the request is beyond the decider's own authority")
        self._approval_decided(timestamp=at, approval_id=record.approval_id, decision=APPROVED,
                               reason=reason, decided_by=checker.key_id,
                               decider_agent=checker.agent_id, decider_role=checker.role)
        if asked is not None:
            return Negotiated(approval_id=record.approval_id, fact_id=self.agree_arrangement(
                kind=asked.kind, instalments=asked.instalments,
                waive_interest=asked.waive_interest, agreed_at=at, now=at))
        assert waiver is not None
        self.adjust_balance(kind="waiver", amount=waiver.amount, reason=waiver.reason,
                            occurred_at=at, now=at)
        if waiver.complaint_id is not None and waiver.complaint_id in self.complaints:
            self._complaint_redressed(timestamp=at, complaint_id=waiver.complaint_id,
                                      redress=waiver.amount)
        return Negotiated(approval_id=record.approval_id)

    def _arrangement_reasons(self: Case, policy: OfferTerms, role: str, kind: ArrangementKind,
                             plan: Sequence[Instalment], waive_interest: bool,
                             agreed_at: datetime) -> list[str]:
        return arrangement_reasons(
            policy, role, kind=kind, plan=plan,
            waived_interest=self.components_at(agreed_at).interest if waive_interest else 0,
            balance=self.balance,
            agreed_on=local_date(agreed_at, self.timezone), waived_before=self.waived_total)

    def _waiver_reasons(self: Case, policy: OfferTerms, role: str, amount: int) -> list[str]:
        """Why ``role`` may not waive ``amount`` alone: with the case's earlier waivers."""
        return waiver_reasons(policy, role, amount, self.balance, self.waived_total)

    def _check_waiver(self: Case, amount: int, reason: str, occurred_at: datetime,
                      now: datetime) -> tuple[int, str, datetime]:
        self._ensure_open()
        amount = validate_amount(amount)
        reason = required_text(reason, "reason", 1000)
        occurred_at = aware_utc(occurred_at, "occurred_at")
        not_in_future(occurred_at, now, "occurred_at")
        self.ensure_waivable(amount, occurred_at, "occurred_at")
        return amount, reason, occurred_at

    def negotiate_dispute_resolution(
        self: Case, *, dispute_id: UUID, outcome: str, resolved_at: datetime,
        adjustment: int | None, asker: KeyHolder, policy: OfferTerms | None, now: datetime,
    ) -> Negotiated:
        """``resolve_dispute`` with an ``adjustment`` treated as the waiver it is: beyond the
        asker's waiver authority under the portfolio's offer policy, the resolution, a fact,
        is recorded at once and the adjustment waits for approval, as complaint redress does.
        Without a policy every role API.md lets resolve disputes adjusts (its v1 contract)."""
        reasons: list[str] = []
        if adjustment is not None:
            # Every refusal first (unknown dispute, rejected outcome, over the balance), so a
            # request that could not be applied is never parked.
            self.check_dispute_resolution(dispute_id=dispute_id, outcome=outcome,
                                          resolved_at=resolved_at, adjustment=adjustment,
                                          now=now)
            if policy is not None:
                reasons = self._waiver_reasons(policy, asker.role, adjustment)
        self.resolve_dispute(dispute_id=dispute_id, outcome=outcome, resolved_at=resolved_at,
                             adjustment=None if reasons else adjustment, now=now)
        if not reasons:
            return Negotiated()
        assert adjustment is not None
        resolved = aware_utc(resolved_at, "resolved_at")
        waiver = WaiverRequest(adjustment, f"dispute {outcome}", resolved)
        return self._ask(asker, reasons, now, waiver=waiver)

    def _ask(self: Case, asker: KeyHolder, reasons: list[str], at: datetime, *,
             arrangement: ArrangementRequest | None = None,
             waiver: WaiverRequest | None = None) -> Negotiated:
        approval_id = self._next_id("approval")
        self._approval_requested(
            timestamp=aware_utc(at, "now"), approval_id=approval_id,
            kind="arrangement" if arrangement is not None else "waiver",
            reasons=tuple(reasons), requested_by=asker.key_id,
            requester_agent=asker.agent_id, requester_role=asker.role,
            arrangement=arrangement, waiver=waiver)
        return Negotiated(approval_id=approval_id, reasons=tuple(reasons))

    @property
    def pending_approvals(self: Case) -> list[ApprovalRecord]:
        return [a for a in self.approvals.values() if a.status == PENDING]
