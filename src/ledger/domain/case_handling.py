"""Handling commands of ``Case``: contacts, disputes, cease, holds, assignment,
escalation, adjustments, notes, closure, reopening and erasure.

A mixin like :mod:`ledger.domain.case_commands`; events live in :mod:`ledger.domain.case`.
Which commands a closed case refuses: contacts, promises, arrangements, assignment,
escalation, adjustments and closure (``case_closed``). Facts that protect the debtor (cease,
disputes, holds and their release/resolution) and notes are still recorded on a closed case,
because refusing them would lose legally relevant facts; payments and reversals are recorded
because money moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.domain.case_commands import _enum
from ledger.domain.compliance import ComplianceContext, ContactRules, breaches, rules_for
from ledger.domain.errors import (
    BalanceOutstanding,
    CaseClosed,
    CaseOpen,
    ChargesFrozen,
    DisputeOpen,
    HoldForOpenComplaint,
    InvalidRequest,
    UnknownDispute,
    UnknownHold,
)
from ledger.domain.money import Allocation, validate_amount
from ledger.domain.timeutil import aware_utc, not_before, not_in_future
from ledger.domain.validation import MAX_NOTE_LENGTH, optional_text, required_text
from ledger.domain.values import (
    AdjustmentKind,
    Breach,
    CallRecord,
    Channel,
    CloseReason,
    Direction,
    DisputeOutcome,
    HoldKind,
    Outcome,
)

if TYPE_CHECKING:
    from ledger.domain.case import Case
    from ledger.domain.records import DisputeRecord

MAX_CALL_SECONDS = 86_400


class CaseHandling:
    """Commands about contact and the life of the case."""

    def _ensure_open(self: Case) -> None:
        if self.is_closed:
            raise CaseClosed("the case is closed")

    def compliance_context(self: Case) -> ComplianceContext:
        """The slice of state compliance rules read (cheap: no replay)."""
        disputes = [d.opened_at for d in self.disputes.values() if d.is_open]
        since = dict(self.blocks_since)
        if disputes:
            since["dispute"] = min(disputes)
        return ComplianceContext(
            jurisdiction=self.jurisdiction, timezone=self.timezone, closed=self.is_closed,
            ceased_all=self.ceased_all, ceased_channels=self.ceased_channels,
            open_dispute=bool(disputes),
            holds=tuple(h.window for h in self.holds.values()),
            recent_calls=self.recent_calls, last_conversation_at=self.last_conversation_at,
            opted_out_channels=self.opted_out_channels, since=since,
        )

    def record_contact(
        self: Case, *, channel: Channel | str, direction: Direction | str,
        outcome: Outcome | str, occurred_at: datetime, agent_id: str | None = None,
        note: str | None = None, duration_seconds: int | None = None,
        rules: ContactRules | None = None, now: datetime | None = None,
    ) -> list[Breach]:
        """Record a contact that happened; returns (and stores) the rules it broke."""
        self._ensure_open()
        contact = CallRecord(
            at=aware_utc(occurred_at, "occurred_at"), channel=_enum(Channel, channel, "channel"),
            direction=_enum(Direction, direction, "direction"),
            outcome=_enum(Outcome, outcome, "outcome"),
        )
        not_in_future(contact.at, now, "occurred_at")
        if duration_seconds is not None and (
            isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int)
            or not 0 <= duration_seconds <= MAX_CALL_SECONDS
        ):
            raise InvalidRequest("duration_seconds", f"must be 0 to {MAX_CALL_SECONDS}")
        found = breaches(self, contact, rules)
        self._contact_recorded(
            timestamp=contact.at, channel=contact.channel, direction=contact.direction,
            outcome=contact.outcome, agent_id=optional_text(agent_id, "agent_id", 255),
            note=optional_text(note, "note", MAX_NOTE_LENGTH),
            duration_seconds=duration_seconds, breaches=tuple(found),
        )
        return found

    def open_dispute(
        self: Case, *, reason: str, opened_at: datetime, dispute_id: UUID | None = None,
        now: datetime | None = None,
    ) -> UUID:
        reason = required_text(reason, "reason", 1000)
        opened_at = aware_utc(opened_at, "opened_at")
        not_in_future(opened_at, now, "opened_at")
        if any(d.is_open for d in self.disputes.values()):
            raise DisputeOpen("a dispute is already open")
        dispute_id = dispute_id or self._next_id("dispute")
        self._dispute_opened(timestamp=opened_at, dispute_id=dispute_id, reason=reason)
        return dispute_id

    def resolve_dispute(
        self: Case, *, dispute_id: UUID | str, outcome: DisputeOutcome | str,
        resolved_at: datetime, adjustment: int | None = None, now: datetime | None = None,
    ) -> None:
        """Close an open dispute; an ``adjustment`` (upheld disputes) is waived explicitly."""
        dispute, outcome, resolved_at = self.check_dispute_resolution(
            dispute_id=dispute_id, outcome=outcome, resolved_at=resolved_at,
            adjustment=adjustment, now=now)
        self._dispute_resolved(
            timestamp=resolved_at, dispute_id=dispute.dispute_id, outcome=outcome,
            adjustment=adjustment,
        )
        if adjustment is not None:
            self._waive(adjustment, f"dispute {outcome}", resolved_at)

    def check_dispute_resolution(
        self: Case, *, dispute_id: UUID | str, outcome: DisputeOutcome | str,
        resolved_at: datetime, adjustment: int | None, now: datetime | None,
    ) -> tuple[DisputeRecord, DisputeOutcome, datetime]:
        """Every refusal ``resolve_dispute`` could give, recording nothing."""
        dispute = self.disputes.get(_as_uuid(dispute_id))
        if dispute is None or not dispute.is_open:
            raise UnknownDispute("no open dispute with that id")
        outcome = _enum(DisputeOutcome, outcome, "outcome")
        resolved_at = aware_utc(resolved_at, "resolved_at")
        not_in_future(resolved_at, now, "resolved_at")
        not_before(resolved_at, dispute.opened_at, "resolved_at", "dispute's opened_at")
        if adjustment is not None:
            validate_amount(adjustment, "adjustment")
            if outcome is DisputeOutcome.REJECTED:
                raise InvalidRequest("adjustment", "a rejected dispute adjusts nothing")
            if self.is_closed:  # as every other waiver: a closed case's balance stands
                raise CaseClosed("no adjustment on a closed case")
            self.ensure_waivable(adjustment, resolved_at, "resolved_at", "adjustment")
        return dispute, outcome, resolved_at

    def cease_communication(
        self: Case, *, received_at: datetime, channels: Iterable[Channel | str] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Stop all contact (``channels`` omitted) or opt out of some channels."""
        received_at = aware_utc(received_at, "received_at")
        not_in_future(received_at, now, "received_at")
        chosen = tuple(_enum(Channel, c, "channels") for c in channels or ())
        self._communication_ceased(
            timestamp=received_at, all_channels=channels is None or not chosen,
            channels=tuple(c for c in Channel if c in chosen),
        )

    def place_hold(
        self: Case, *, kind: HoldKind | str, starts_at: datetime,
        until: datetime | None = None, hold_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> UUID:
        """Stop collection from ``starts_at`` until ``until`` (open-ended when None)."""
        kind = _enum(HoldKind, kind, "kind")
        starts_at = aware_utc(starts_at, "starts_at")
        if until is not None:
            until = aware_utc(until, "until")
            if until <= starts_at:
                raise InvalidRequest("until", "must be after starts_at")
        hold_id = hold_id or self._next_id("hold")
        timestamp = aware_utc(occurred_at, "occurred_at") if occurred_at else starts_at
        self._hold_placed(
            timestamp=timestamp, hold_id=hold_id, kind=kind, starts_at=starts_at, until=until
        )
        return hold_id

    def release_hold(
        self: Case, *, hold_id: UUID | str, released_at: datetime, now: datetime | None = None
    ) -> None:
        hold = self.holds.get(_as_uuid(hold_id))
        if hold is None or hold.released_at is not None:
            raise UnknownHold("no unreleased hold with that id")
        if any(c.hold_id == hold.hold_id and c.resolved_at is None
               for c in self.complaints.values()):
            raise HoldForOpenComplaint("the hold pauses collection for an open complaint; "
                                       "the complaint's resolution releases it")
        released_at = aware_utc(released_at, "released_at")
        not_in_future(released_at, now, "released_at")
        self._hold_released(timestamp=released_at, hold_id=hold.hold_id)

    def assign(
        self: Case, *, assigned_at: datetime, agent_id: str | None = None,
        agency: str | None = None,
    ) -> None:
        self._ensure_open()
        if (agent_id is None) == (agency is None):
            raise InvalidRequest("agent_id", "give exactly one of agent_id or agency")
        self._assigned(
            timestamp=aware_utc(assigned_at, "assigned_at"),
            agent_id=optional_text(agent_id, "agent_id", 255),
            agency=optional_text(agency, "agency", 255),
        )

    def escalate(
        self: Case, *, reason: str, escalated_at: datetime, now: datetime | None = None
    ) -> None:
        self._ensure_open()
        escalated_at = aware_utc(escalated_at, "escalated_at")
        not_in_future(escalated_at, now, "escalated_at")
        self._escalated(timestamp=escalated_at, reason=required_text(reason, "reason", 1000))

    def adjust_balance(
        self: Case, *, kind: AdjustmentKind | str, amount: int, reason: str,
        occurred_at: datetime, rules: ContactRules | None = None, now: datetime | None = None,
    ) -> None:
        """Add interest or a fee, or waive part of the balance (interest → fees → principal)."""
        self._ensure_open()
        kind = _enum(AdjustmentKind, kind, "kind")
        amount = validate_amount(amount)
        reason = required_text(reason, "reason", 1000)
        occurred_at = aware_utc(occurred_at, "occurred_at")
        not_in_future(occurred_at, now, "occurred_at")
        not_before(occurred_at, self.placed_at, "occurred_at", "case's placed_at")
        if kind is AdjustmentKind.WAIVER:
            self.ensure_waivable(amount, occurred_at, "occurred_at")
            self._waive(amount, reason, occurred_at)
            return
        freezing = (rules or rules_for(self.jurisdiction)).charge_freezing_holds
        for hold in self.holds.values():
            if hold.kind in freezing and hold.window.active_at(occurred_at):
                raise ChargesFrozen(f"no {kind} may be added during a {hold.kind} hold")
        allocation = (
            Allocation(interest=amount) if kind is AdjustmentKind.INTEREST
            else Allocation(fees=amount)
        )
        self._balance_adjusted(
            timestamp=occurred_at, kind=kind, amount=amount, reason=reason, allocation=allocation
        )

    def add_note(
        self: Case, *, text: str, occurred_at: datetime, author: str | None = None
    ) -> None:
        self._note_added(
            timestamp=aware_utc(occurred_at, "occurred_at"),
            text=required_text(text, "text", MAX_NOTE_LENGTH),
            author=optional_text(author, "author", 255),
        )

    def close(
        self: Case, *, reason: CloseReason | str, closed_at: datetime,
        now: datetime | None = None,
    ) -> None:
        self._ensure_open()
        reason = _enum(CloseReason, reason, "reason")
        closed_at = aware_utc(closed_at, "closed_at")
        not_in_future(closed_at, now, "closed_at")
        if reason is CloseReason.PAID and self.balance > 0:
            raise BalanceOutstanding(f"balance of {self.balance} is still owed")
        self._closed(timestamp=closed_at, reason=reason)

    def reopen(
        self: Case, *, reason: str, reopened_at: datetime, now: datetime | None = None
    ) -> None:
        if not self.is_closed:
            raise CaseOpen("the case is not closed")
        reopened_at = aware_utc(reopened_at, "reopened_at")
        not_in_future(reopened_at, now, "reopened_at")
        self._reopened(timestamp=reopened_at, reason=required_text(reason, "reason", 1000))

    def erase_personal_data(self: Case, *, reason: str, erased_at: datetime) -> None:
        """Mark the debtor's personal data erased (the store destroys the data key)."""
        self._personal_data_erased(
            timestamp=aware_utc(erased_at, "erased_at"),
            reason=required_text(reason, "reason", 1000),
        )


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None
