"""The ``Case`` aggregate: one delinquent account placed with us for collection.

How collections work, in the order things usually happen:

1. A bank *places* an account (``Case.place``): who owes what (principal, interest, fees,
   in one currency), how late it already is (days past due, past-due amount) and where the
   debtor lives (time zone and jurisdiction, which pick the compliance rules).
2. Collectors *contact* the debtor (``record_contact``). Before dialling they ask
   ``ledger.domain.compliance.permission``; a contact that happened anyway is recorded with
   the rules it broke.
3. The debtor may *promise* to pay an amount by a date (``make_promise``), or agree an
   *arrangement*: instalments, or a settlement for less than the balance (``agree_arrangement``).
4. The bank posts *payments* (``receive_payment``), allocated fees → interest → principal,
   and sometimes *reverses* them (a bounced cheque). Payments decide whether promises are kept
   and arrangements met; a scheduler calls ``mark_overdue`` to record those that were not.
5. Protective facts stop collection: a *dispute*, a request to *cease* contact, a *hold*
   (hardship, breathing space, bankruptcy, death).
6. The case ends *closed* (paid, settled, written off, recalled, ...) and may be *reopened*.

Every public method validates and either raises a ``DomainError`` (nothing recorded) or
triggers events. The ``@event`` methods only change state because they run again on every
replay. Each event's ``timestamp`` is the business time passed to the command; the event
store adds the recording time. Events are nested here, so topics read
``ledger.domain.case:Case.Placed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, cast
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate, event

from ledger.domain.allocation import CHARGE, PAYMENT, REVERSAL, Movement, waiver_kind
from ledger.domain.case_commands import CaseCommands, Overdue, PaymentReceipt
from ledger.domain.case_money import CaseMoney
from ledger.domain.case_handling import CaseHandling
from ledger.domain.complaints.case_complaints import CaseComplaints, ComplaintRecord
from ledger.domain.negotiation.case_approvals import (
    ApprovalRecord,
    ArrangementRequest,
    CaseApprovals,
    WaiverRequest,
)
from ledger.domain.case_strategy import CHANNEL_ACTION, CaseStrategy, ScoreRecord, SegmentRecord
from ledger.domain.delinquency import bucket_for
from ledger.domain.messaging.case_messages import CaseMessaging
from ledger.domain.messaging.fields import DeliveryStatus, MessageChannel, MessageStatus
from ledger.domain.messaging.records import Itemization, MessageRecord
from ledger.domain.money import Allocation
from ledger.domain.strategy.document import Action
from ledger.domain.records import (
    ArrangementRecord,
    DisputeRecord,
    HoldRecord,
    PaymentRecord,
    PromiseRecord,
)
from ledger.domain.view import CaseView, case_days_past_due, case_view, status_at
from ledger.domain.values import (
    AdjustmentKind,
    ArrangementKind,
    CaseStatus,
    ArrangementStatus,
    Breach,
    CallRecord,
    Channel,
    CloseReason,
    Debtor,
    Direction,
    DisputeOutcome,
    HoldKind,
    Instalment,
    Outcome,
    PaymentMethod,
    PromiseStatus,
)

CALL_HISTORY_DAYS = 10
"""Phone contacts kept in state: enough for every rule's window (7 days) plus slack."""

replace = msgspec.structs.replace


class Case(CaseCommands, CaseMoney, CaseHandling, CaseStrategy, CaseMessaging, CaseApprovals,
           CaseComplaints, Aggregate):
    """A placed account; see the module docstring for the life of a case."""

    # trust-data: the repository refuses to store a Case without sealing its debtor's data.
    holds_personal_data = True

    # Read-only defaults, replaced (never mutated) by the event bodies below, so cases
    # restored from snapshots taken before issue 15 have them too.
    approvals = cast("Mapping[UUID, ApprovalRecord]", MappingProxyType({}))
    complaints = cast("Mapping[UUID, ComplaintRecord]", MappingProxyType({}))

    # ---- events -------------------------------------------------------------------

    class Placed(Aggregate.Created):
        tenant_id: str
        external_ref: str
        portfolio: str
        product: str
        currency: str
        principal: int
        interest: int
        fees: int
        past_due_amount: int
        days_past_due: int
        debtor: Debtor
        timezone: str
        jurisdiction: str

    class ContactRecorded(Aggregate.Event):
        channel: Channel
        direction: Direction
        outcome: Outcome
        agent_id: str | None
        note: str | None
        duration_seconds: int | None
        breaches: tuple[Breach, ...]

    class PromiseMade(Aggregate.Event):
        promise_id: UUID
        amount: int
        due_date: date
        deadline: datetime
        agent_id: str | None

    class PromiseKept(Aggregate.Event):
        promise_id: UUID

    class PromiseBroken(Aggregate.Event):
        promise_id: UUID

    class PromiseReinstated(Aggregate.Event):
        """A reversal undid the payment that kept a promise whose deadline is still ahead."""

        promise_id: UUID

    class PaymentReceived(Aggregate.Event):
        external_id: str
        amount: int
        currency: str
        method: PaymentMethod
        allocation: Allocation

    class PaymentReversed(Aggregate.Event):
        external_id: str
        reason: str
        allocation: Allocation

    class ArrangementAgreed(Aggregate.Event):
        arrangement_id: UUID
        kind: ArrangementKind
        instalments: tuple[Instalment, ...]
        deadlines: tuple[datetime, ...]
        waive_interest: bool
        grace_days: int

    class ArrangementCompleted(Aggregate.Event):
        arrangement_id: UUID

    class ArrangementDefaulted(Aggregate.Event):
        arrangement_id: UUID
        missed_instalment: int

    class DisputeOpened(Aggregate.Event):
        dispute_id: UUID
        reason: str

    class DisputeResolved(Aggregate.Event):
        dispute_id: UUID
        outcome: DisputeOutcome
        adjustment: int | None

    class CommunicationCeased(Aggregate.Event):
        all_channels: bool
        channels: tuple[Channel, ...]

    class HoldPlaced(Aggregate.Event):
        hold_id: UUID
        kind: HoldKind
        starts_at: datetime
        until: datetime | None

    class HoldReleased(Aggregate.Event):
        hold_id: UUID

    class Assigned(Aggregate.Event):
        agent_id: str | None
        agency: str | None

    class Escalated(Aggregate.Event):
        reason: str

    class BalanceAdjusted(Aggregate.Event):
        """Interest or fee added (``allocation`` holds the increase) or a waiver (the decrease)."""

        kind: AdjustmentKind
        amount: int
        reason: str
        allocation: Allocation

    class NoteAdded(Aggregate.Event):
        text: str
        author: str | None

    class Closed(Aggregate.Event):
        reason: CloseReason

    class Reopened(Aggregate.Event):
        reason: str

    class PersonalDataErased(Aggregate.Event):
        reason: str

    # negotiation and complaints (issue 15): maker–checker approvals, complaints

    class ApprovalRequested(Aggregate.Event):
        """An arrangement or waiver beyond the asker's authority, parked until decided."""

        approval_id: UUID
        kind: str
        reasons: tuple[str, ...]
        requested_by: str
        requester_agent: str | None
        requester_role: str
        arrangement: ArrangementRequest | None
        waiver: WaiverRequest | None

    class ApprovalDecided(Aggregate.Event):
        approval_id: UUID
        decision: str
        reason: str | None
        decided_by: str
        decider_agent: str | None
        decider_role: str

    class ComplaintReceived(Aggregate.Event):
        complaint_id: UUID
        category: str
        channel: str
        summary: str
        respond_by: datetime
        respond_by_date: date
        agent_id: str | None
        hold_id: UUID | None

    class ComplaintResolved(Aggregate.Event):
        complaint_id: UUID
        outcome: str
        root_cause: str
        redress: int | None

    class ComplaintRedressed(Aggregate.Event):
        """Redress that waited for approval (beyond the resolver's authority), applied when
        approved: the complaint's redress grows by ``redress`` (business time = decision)."""

        complaint_id: UUID
        redress: int

    class ComplaintOverdue(Aggregate.Event):
        """Still unanswered at its deadline (business time = the deadline)."""

        complaint_id: UUID
        agent_id: str | None
        channel: str

    # ---- messages and opt-outs (issue 13; commands in domain/messaging/case_messages) --

    class MessageQueued(Aggregate.Event):
        message_id: UUID
        channel: MessageChannel
        template: str
        template_version: int
        send_at: datetime
        status: MessageStatus
        content: str
        itemization: Itemization | None

    class MessageSent(Aggregate.Event):
        message_id: UUID
        attempts: int

    class MessageDelivered(Aggregate.Event):
        message_id: UUID
        detail: str | None

    class MessageFailed(Aggregate.Event):
        message_id: UUID
        status: DeliveryStatus
        detail: str | None

    class ChannelOptedOut(Aggregate.Event):
        channel: Channel
        source: str

    class ComplianceBreachFound(Aggregate.Event):
        """A rule broken by something other than a contact (a late validation notice)."""

        rule: str
        detail: str
        channel: Channel
    # Scores and contact strategies (issue 12; logic in ledger.domain.case_strategy).
    class ScoreRecorded(Aggregate.Event):
        model: str
        value: int
        model_version: str

    class SegmentEntered(Aggregate.Event):
        strategy_id: UUID
        version: int
        arm: str
        segment: str

    class SegmentLeft(Aggregate.Event):
        """No active strategy covers the case's portfolio any more (the segment it left)."""

        strategy_id: UUID
        version: int
        arm: str
        segment: str

    # ---- state --------------------------------------------------------------------

    # Class-level defaults of message state: cases restored from snapshots taken before
    # messages existed lack these attributes. Event bodies replace them, never mutate.
    # (Unannotated: the library would turn annotated class attributes into fields.)
    messages = MappingProxyType({})  # type: dict[UUID, MessageRecord]
    opted_out_channels = ()  # type: tuple[Channel, ...]
    first_communication_at = None  # type: datetime | None
    validation_notice_flagged = False
    assigned_since = None  # type: datetime | None
    """Business time of the assignment in force (a snapshot from before it: None)."""
    blocks_since = MappingProxyType({})  # type: Mapping[str, datetime]
    """When each cease and opt-out took effect (``ComplianceContext.since``; the earliest, if
    reported more than once; a snapshot from before it: none, so in force at any time)."""

    def __init__(
        self,
        tenant_id: str,
        external_ref: str,
        portfolio: str,
        product: str,
        currency: str,
        principal: int,
        interest: int,
        fees: int,
        past_due_amount: int,
        days_past_due: int,
        debtor: Debtor,
        timezone: str,
        jurisdiction: str,
    ) -> None:
        self.tenant_id, self.external_ref = tenant_id, external_ref
        self.portfolio, self.product, self.currency = portfolio, product, currency
        self.debtor: Debtor | None = debtor
        self.personal_data_erased = False
        self.timezone, self.jurisdiction = timezone, jurisdiction
        self.placed_principal, self.placed_interest, self.placed_fees = principal, interest, fees
        self.past_due_amount, self.placed_days_past_due = past_due_amount, days_past_due
        self.principal, self.interest, self.fees, self.credit = principal, interest, fees, 0
        self.payments_total = self.reversals_total = self.waived_total = 0
        self.interest_added = self.fees_added = 0
        self.payments: dict[str, PaymentRecord] = {}
        self.movements: tuple[Movement, ...] = ()
        self.promises: list[PromiseRecord] = []
        self.arrangements: list[ArrangementRecord] = []
        self.disputes: dict[UUID, DisputeRecord] = {}
        self.holds: dict[UUID, HoldRecord] = {}
        self.ceased_all = False
        self.ceased_channels: tuple[Channel, ...] = ()
        self.assigned_to: str | None = None
        self.assigned_agency: str | None = None
        self.legal = False
        self.escalated_at: datetime | None = None
        self.notes_count = 0
        self.last_contact_at: datetime | None = None
        self.last_conversation_at: datetime | None = None
        self.recent_calls: tuple[CallRecord, ...] = ()
        self.closed_at: datetime | None = None
        self.close_reason: CloseReason | None = None

    @property
    def placed_at(self) -> datetime:
        return self.created_on

    @property
    def placed_balance(self) -> int:
        return self.placed_principal + self.placed_interest + self.placed_fees

    @property
    def owed(self) -> int:
        """Outstanding components, ignoring any credit (a waiver forgives at most the balance,
        net of credit: forgiving more would turn the waiver itself into money owed back)."""
        return self.principal + self.interest + self.fees

    @property
    def balance(self) -> int:
        """placed − payments + reversals − waivers + interest/fee adjustments.

        Negative only when an overpayment is held as credit.
        """
        return self.owed - self.credit

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def arrangement(self) -> ArrangementRecord | None:
        return self.arrangements[-1] if self.arrangements else None

    # ---- event application (runs on every replay: state changes only) -------------

    @event(ContactRecorded)
    def _contact_recorded(
        self, timestamp: datetime, channel: Channel, direction: Direction, outcome: Outcome,
        agent_id: str | None, note: str | None, duration_seconds: int | None,
        breaches: tuple[Breach, ...],
    ) -> None:
        self.last_contact_at = max(self.last_contact_at or timestamp, timestamp)
        if direction is Direction.OUTBOUND and outcome is Outcome.RIGHT_PARTY and (
                self.first_communication_at is None or timestamp < self.first_communication_at):
            self.first_communication_at = timestamp
        self._track_contact(timestamp, channel, direction, outcome)
        if channel is not Channel.PHONE:
            return
        if outcome is Outcome.RIGHT_PARTY:
            self.last_conversation_at = max(self.last_conversation_at or timestamp, timestamp)
        calls = sorted(
            (*self.recent_calls, CallRecord(timestamp, channel, direction, outcome)),
            key=lambda call: call.at,
        )
        horizon = calls[-1].at - timedelta(days=CALL_HISTORY_DAYS)
        self.recent_calls = tuple(call for call in calls if call.at >= horizon)

    @event(PromiseMade)
    def _promise_made(
        self, timestamp: datetime, promise_id: UUID, amount: int, due_date: date,
        deadline: datetime, agent_id: str | None,
    ) -> None:
        self.promises.append(
            PromiseRecord(promise_id, amount, due_date, timestamp, deadline, agent_id)
        )

    def _set_promise_status(self, promise_id: UUID, status: PromiseStatus) -> None:
        self.promises = [
            replace(p, status=status) if p.promise_id == promise_id else p for p in self.promises
        ]

    @event(PromiseKept)
    def _promise_kept(self, timestamp: datetime, promise_id: UUID) -> None:
        self._set_promise_status(promise_id, PromiseStatus.KEPT)

    @event(PromiseBroken)
    def _promise_broken(self, timestamp: datetime, promise_id: UUID) -> None:
        self._set_promise_status(promise_id, PromiseStatus.BROKEN)

    @event(PromiseReinstated)
    def _promise_reinstated(self, timestamp: datetime, promise_id: UUID) -> None:
        self._set_promise_status(promise_id, PromiseStatus.PENDING)

    @event(PaymentReceived)
    def _payment_received(
        self, timestamp: datetime, external_id: str, amount: int, currency: str,
        method: PaymentMethod, allocation: Allocation,
    ) -> None:
        self.payments[external_id] = PaymentRecord(
            external_id, amount, currency, timestamp, method, allocation
        )
        self.payments_total += amount
        self._move(self._next_movement(timestamp, PAYMENT, amount, external_id))

    @event(PaymentReversed)
    def _payment_reversed(
        self, timestamp: datetime, external_id: str, reason: str, allocation: Allocation
    ) -> None:
        payment = self.payments[external_id]
        self.payments[external_id] = replace(
            payment, reversed=True, reversed_at=timestamp, reversal_reason=reason
        )
        self.reversals_total += payment.amount
        self._move(self._next_movement(timestamp, REVERSAL, payment.amount, external_id))

    @event(ArrangementAgreed)
    def _arrangement_agreed(
        self, timestamp: datetime, arrangement_id: UUID, kind: ArrangementKind,
        instalments: tuple[Instalment, ...], deadlines: tuple[datetime, ...],
        waive_interest: bool, grace_days: int,
    ) -> None:
        self.arrangements.append(
            ArrangementRecord(
                arrangement_id, kind, tuple(instalments), tuple(deadlines), waive_interest,
                timestamp, grace_days,
            )
        )

    def _set_arrangement(self, arrangement_id: UUID, **changes: Any) -> None:
        self.arrangements = [
            replace(a, **changes) if a.arrangement_id == arrangement_id else a
            for a in self.arrangements
        ]

    @event(ArrangementCompleted)
    def _arrangement_completed(self, timestamp: datetime, arrangement_id: UUID) -> None:
        self._set_arrangement(arrangement_id, status=ArrangementStatus.COMPLETED)

    @event(ArrangementDefaulted)
    def _arrangement_defaulted(
        self, timestamp: datetime, arrangement_id: UUID, missed_instalment: int
    ) -> None:
        self._set_arrangement(
            arrangement_id, status=ArrangementStatus.DEFAULTED,
            missed_instalment=missed_instalment,
        )

    @event(DisputeOpened)
    def _dispute_opened(self, timestamp: datetime, dispute_id: UUID, reason: str) -> None:
        self.disputes[dispute_id] = DisputeRecord(dispute_id, reason, timestamp)

    @event(DisputeResolved)
    def _dispute_resolved(
        self, timestamp: datetime, dispute_id: UUID, outcome: DisputeOutcome,
        adjustment: int | None,
    ) -> None:
        self.disputes[dispute_id] = replace(
            self.disputes[dispute_id], resolved_at=timestamp, outcome=outcome,
            adjustment=adjustment,
        )

    @event(CommunicationCeased)
    def _communication_ceased(
        self, timestamp: datetime, all_channels: bool, channels: tuple[Channel, ...]
    ) -> None:
        self.ceased_all = self.ceased_all or all_channels
        merged = set(self.ceased_channels) | set(channels)
        self.ceased_channels = tuple(c for c in Channel if c in merged)
        self._block_took_effect(timestamp, *(["cease"] if all_channels else []),
                                *(f"cease:{c}" for c in channels))

    @event(HoldPlaced)
    def _hold_placed(
        self, timestamp: datetime, hold_id: UUID, kind: HoldKind, starts_at: datetime,
        until: datetime | None,
    ) -> None:
        self.holds[hold_id] = HoldRecord(hold_id, kind, starts_at, until)

    @event(HoldReleased)
    def _hold_released(self, timestamp: datetime, hold_id: UUID) -> None:
        self.holds[hold_id] = replace(self.holds[hold_id], released_at=timestamp)

    @event(Assigned)
    def _assigned(self, timestamp: datetime, agent_id: str | None, agency: str | None) -> None:
        # The assignment in force is the one that starts last in business time: one recorded
        # late but dated earlier does not undo a later one (it still covered its own period,
        # which metrics by agent credit to it).
        if self.assigned_since is None or timestamp >= self.assigned_since:
            self.assigned_to, self.assigned_agency = agent_id or agency, agency
            self.assigned_since = timestamp

    @event(Escalated)
    def _escalated(self, timestamp: datetime, reason: str) -> None:
        self.legal, self.escalated_at = True, timestamp
        self._track_action(Action.ESCALATE, timestamp)

    @event(BalanceAdjusted)
    def _balance_adjusted(
        self, timestamp: datetime, kind: AdjustmentKind, amount: int, reason: str,
        allocation: Allocation,
    ) -> None:
        if kind is AdjustmentKind.WAIVER:
            self.waived_total += amount
            self._move(self._next_movement(timestamp, waiver_kind(reason), amount, reason))
        else:
            self.interest_added += allocation.interest
            self.fees_added += allocation.fees
            self._move(self._next_movement(timestamp, CHARGE, amount, reason,
                                           interest=allocation.interest, fees=allocation.fees))

    @event(NoteAdded)
    def _note_added(self, timestamp: datetime, text: str, author: str | None) -> None:
        self.notes_count += 1
        self._track_action(Action.REVIEW, timestamp)

    @event(Closed)
    def _closed(self, timestamp: datetime, reason: CloseReason) -> None:
        self.closed_at, self.close_reason = timestamp, reason

    @event(Reopened)
    def _reopened(self, timestamp: datetime, reason: str) -> None:
        self.closed_at = self.close_reason = None
        self.legal, self.escalated_at = False, None

    @event(PersonalDataErased)
    def _personal_data_erased(self, timestamp: datetime, reason: str) -> None:
        self.debtor, self.personal_data_erased = None, True

    # negotiation and complaints (issue 15)

    @event(ApprovalRequested)
    def _approval_requested(
        self, timestamp: datetime, approval_id: UUID, kind: str, reasons: tuple[str, ...],
        requested_by: str, requester_agent: str | None, requester_role: str,
        arrangement: ArrangementRequest | None, waiver: WaiverRequest | None,
    ) -> None:
        self.approvals = {**self.approvals, approval_id: ApprovalRecord(
            approval_id, kind, tuple(reasons), timestamp, requested_by, requester_agent,
            requester_role, arrangement, waiver)}

    @event(ApprovalDecided)
    def _approval_decided(
        self, timestamp: datetime, approval_id: UUID, decision: str, reason: str | None,
        decided_by: str, decider_agent: str | None, decider_role: str,
    ) -> None:
        self.approvals = {**self.approvals, approval_id: replace(
            self.approvals[approval_id], status=decision, decided_at=timestamp,
            decided_by=decided_by, decision_reason=reason)}

    @event(ComplaintReceived)
    def _complaint_received(
        self, timestamp: datetime, complaint_id: UUID, category: str, channel: str,
        summary: str, respond_by: datetime, respond_by_date: date, agent_id: str | None,
        hold_id: UUID | None,
    ) -> None:
        self.complaints = {**self.complaints, complaint_id: ComplaintRecord(
            complaint_id, category, channel, timestamp, respond_by, respond_by_date, agent_id,
            hold_id)}

    @event(ComplaintResolved)
    def _complaint_resolved(
        self, timestamp: datetime, complaint_id: UUID, outcome: str, root_cause: str,
        redress: int | None,
    ) -> None:
        self.complaints = {**self.complaints, complaint_id: replace(
            self.complaints[complaint_id], resolved_at=timestamp, outcome=outcome,
            root_cause=root_cause, redress=redress)}

    @event(ComplaintRedressed)
    def _complaint_redressed(self, timestamp: datetime, complaint_id: UUID, redress: int) -> None:
        record = self.complaints[complaint_id]
        self.complaints = {**self.complaints, complaint_id: replace(
            record, redress=(record.redress or 0) + redress)}

    @event(ComplaintOverdue)
    def _complaint_overdue(
        self, timestamp: datetime, complaint_id: UUID, agent_id: str | None, channel: str
    ) -> None:
        self.complaints = {**self.complaints,
                           complaint_id: replace(self.complaints[complaint_id], overdue=True)}

    # ---- messages (issue 13) -------------------------------------------------------

    def _set_message(self, message_id: UUID, **changes: Any) -> None:
        self.messages = {**self.messages,
                         message_id: replace(self.messages[message_id], **changes)}

    @event(MessageQueued)
    def _message_queued(
        self, timestamp: datetime, message_id: UUID, channel: MessageChannel, template: str,
        template_version: int, send_at: datetime, status: MessageStatus, content: str,
        itemization: Itemization | None,
    ) -> None:
        record = MessageRecord(
            message_id=message_id, channel=channel, template=template,
            template_version=template_version, queued_at=timestamp, send_at=send_at,
            status=status, content=content, itemization=itemization)
        self.messages = {**self.messages, message_id: record}
        # A message done is a strategy step done (issue 12's plan reads the last action).
        self._track_action(CHANNEL_ACTION[Channel(channel.value)], timestamp)

    @event(MessageSent)
    def _message_sent(self, timestamp: datetime, message_id: UUID, attempts: int) -> None:
        record = self.messages[message_id]
        status = MessageStatus.SENT if record.status in (
            MessageStatus.QUEUED, MessageStatus.SCHEDULED) else record.status
        self._set_message(message_id, sent_at=timestamp, attempts=attempts, status=status)

    @event(MessageDelivered)
    def _message_delivered(self, timestamp: datetime, message_id: UUID,
                           detail: str | None) -> None:
        self._set_message(message_id, status=MessageStatus.DELIVERED, delivered_at=timestamp,
                          detail=detail)

    @event(MessageFailed)
    def _message_failed(self, timestamp: datetime, message_id: UUID, status: DeliveryStatus,
                        detail: str | None) -> None:
        self._set_message(message_id, status=MessageStatus(status.value), failed_at=timestamp,
                          detail=detail)

    @event(ChannelOptedOut)
    def _channel_opted_out(self, timestamp: datetime, channel: Channel, source: str) -> None:
        merged = set(self.opted_out_channels) | {channel}
        self.opted_out_channels = tuple(c for c in Channel if c in merged)
        self._block_took_effect(timestamp, f"opted_out:{channel}")

    def _block_took_effect(self, at: datetime, *blocks: str) -> None:
        since = dict(self.blocks_since)
        for block in blocks:
            since[block] = min(since.get(block, at), at)
        self.blocks_since = MappingProxyType(since)

    @event(ComplianceBreachFound)
    def _compliance_breach_found(self, timestamp: datetime, rule: str, detail: str,
                                 channel: Channel) -> None:
        if rule == "validation_notice_late":
            self.validation_notice_flagged = True
    # Scores and contact strategies (issue 12).
    @event(ScoreRecorded)
    def _score_recorded(self, timestamp: datetime, model: str, value: int,
                        model_version: str) -> None:
        self._track_score(model, ScoreRecord(value, model_version, timestamp))

    @event(SegmentEntered)
    def _segment_entered(self, timestamp: datetime, strategy_id: UUID, version: int, arm: str,
                         segment: str) -> None:
        self.segment_entry = SegmentRecord(strategy_id, version, arm, segment, timestamp)

    @event(SegmentLeft)
    def _segment_left(self, timestamp: datetime, strategy_id: UUID, version: int, arm: str,
                      segment: str) -> None:
        self.segment_entry = None

    # ---- helpers shared by the commands -------------------------------------------

    def _next_id(self, kind: str) -> UUID:
        """Deterministic id for a new promise/dispute/hold: replays and retries agree."""
        return uuid5(self.id, f"{kind}:{self.version + 1}")


    # ---- reading ----------------------------------------------------------------------

    def view(self, at: datetime, *, with_payments: bool = True) -> CaseView:
        """The read-only view the API renders (``at`` drives ageing and hold status).

        ``with_payments=False`` leaves ``payments`` empty: a case summary does not need one
        entry per payment, and a long-paying case has hundreds.
        """
        return case_view(self, at, with_payments=with_payments)

    def status(self, at: datetime) -> CaseStatus:
        return status_at(self, at)

    def days_past_due(self, at: datetime) -> int:
        return case_days_past_due(self, at)

    def dpd_bucket(self, at: datetime) -> str | None:
        return bucket_for(case_days_past_due(self, at))


def due_for_breaking(case: Case, now: datetime) -> list[Overdue]:
    """For the scheduler: promises/instalments ``case.mark_overdue(now)`` would record."""
    return case.due_for_breaking(now)


__all__ = ["Case", "Overdue", "PaymentReceipt", "due_for_breaking"]
