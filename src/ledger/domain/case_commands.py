"""Money commands of ``Case``: placement, payments, reversals, promises, arrangements.

A mixin so ``case.py`` stays readable; the events and their state changes live there. Each
command validates everything first and only then triggers events, so a refusal never
leaves half a command behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from ledger.domain.errors import (
    AlreadyReversed,
    ArrangementActive,
    ArrangementExceedsBalance,
    DueDateInPast,
    DuplicatePayment,
    InvalidRequest,
    PromiseExceedsBalance,
    PromisePending,
    UnknownPayment,
)
from ledger.domain.allocation import INTEREST_WAIVED_BY_ARRANGEMENT, PAYMENT, waiver_kind
from ledger.domain.money import (
    Allocation,
    ensure_same_currency,
    validate_amount,
    validate_component,
    validate_currency,
)
from ledger.domain.promises import (
    arrangement_paid_in_full,
    covered_at,
    first_missed_instalment,
    instalment_deadlines,
    promise_deadline,
    received_between,
)
from ledger.domain.timeutil import aware_utc, local_date, not_before, not_in_future, zone
from ledger.domain.validation import optional_text, path_segment_text, required_text
from ledger.domain.values import (
    AdjustmentKind,
    ArrangementKind,
    ArrangementStatus,
    CloseReason,
    Debtor,
    Instalment,
    PaymentMethod,
    PromiseStatus,
)

if TYPE_CHECKING:
    from ledger.domain.case import Case

MAX_DAYS_PAST_DUE = 36_500
MAX_INSTALMENTS = 600
MAX_GRACE_DAYS = 60


class PaymentReceipt(msgspec.Struct, frozen=True):
    """What ``receive_payment`` did: ``replayed`` means the same payment was already
    recorded with identical fields and nothing new happened (the API answers 200)."""

    external_id: str
    replayed: bool
    allocation: Allocation


class Overdue(msgspec.Struct, frozen=True):
    """A promise or instalment whose deadline passed unmet: ``mark_overdue`` records it."""

    kind: str  # "promise" or "instalment"
    item_id: UUID  # promise_id or arrangement_id
    deadline: datetime
    instalment: int | None = None


class CaseCommands:
    """Commands that move money or commit the debtor to paying."""

    @classmethod
    def place(
        cls, *, case_id: UUID, tenant_id: str, external_ref: str, portfolio: str,
        product: str, currency: str, principal: int, interest: int, fees: int,
        past_due_amount: int, days_past_due: int, placed_at: datetime, debtor: Debtor,
        now: datetime | None = None,
    ) -> Case:
        """Create the case with the caller's ``case_id`` (derived from tenant + ref)."""
        if not isinstance(case_id, UUID):
            raise InvalidRequest("case_id", "must be a UUID")
        placed_at = aware_utc(placed_at, "placed_at")
        not_in_future(placed_at, now, "placed_at")
        validate_currency(currency)
        components = {
            name: validate_component(value, name)
            for name, value in (("principal", principal), ("interest", interest), ("fees", fees))
        }
        total = sum(components.values())
        if total == 0:
            raise InvalidRequest("principal", "a placement must owe something")
        validate_component(past_due_amount, "past_due_amount")
        if past_due_amount > total:
            raise InvalidRequest("past_due_amount", "exceeds the placed balance")
        if isinstance(days_past_due, bool) or not isinstance(days_past_due, int) or not (
            0 <= days_past_due <= MAX_DAYS_PAST_DUE
        ):
            raise InvalidRequest("days_past_due", "must be a whole number of days ≥ 0")
        if not isinstance(debtor, Debtor):
            raise InvalidRequest("debtor", "must be a Debtor")
        zone(debtor.timezone)
        jurisdiction = required_text(debtor.jurisdiction, "debtor.jurisdiction", 16).upper()
        return cls._create(  # type: ignore[attr-defined,no-any-return]
            cls.Placed,  # type: ignore[attr-defined]
            id=case_id,
            timestamp=placed_at,
            tenant_id=required_text(tenant_id, "tenant_id", 255),
            external_ref=required_text(external_ref, "external_ref", 255),
            portfolio=required_text(portfolio, "portfolio", 255),
            product=required_text(product, "product", 255),
            currency=currency,
            past_due_amount=past_due_amount,
            days_past_due=days_past_due,
            debtor=msgspec.structs.replace(debtor, jurisdiction=jurisdiction),
            timezone=debtor.timezone,
            jurisdiction=jurisdiction,
            **components,
        )

    # ---- payments -------------------------------------------------------------------

    def receive_payment(
        self: Case, *, external_id: str, amount: int, currency: str, received_at: datetime,
        method: PaymentMethod | str, now: datetime | None = None,
    ) -> PaymentReceipt:
        """Record money received. Allowed on closed cases (money moved; no reopening).

        Same ``external_id`` with identical fields → a receipt with ``replayed=True`` and no
        events; with different fields → ``DuplicatePayment``.
        """
        external_id = path_segment_text(external_id, "external_id", 255)
        amount = validate_amount(amount)
        currency = validate_currency(currency)
        received_at = aware_utc(received_at, "received_at")
        not_in_future(received_at, now, "received_at")
        # Money before placement is in the placed balance already (counting it again would
        # pay the debt twice): a data error, as a reversal before its payment is.
        not_before(received_at, self.placed_at, "received_at", "case's placed_at")
        method = _enum(PaymentMethod, method, "method")
        known = self.payments.get(external_id)
        if known is not None:
            same = (known.amount, known.currency, known.received_at, known.method) == (
                amount, currency, received_at, method,
            )
            if not same:
                raise DuplicatePayment(f"payment {external_id} was recorded with other fields")
            return PaymentReceipt(external_id, True, known.allocation)
        ensure_same_currency(self.currency, currency)
        allocation = self._would_allocate(
            self._next_movement(received_at, PAYMENT, amount, external_id))
        self._payment_received(
            timestamp=received_at, external_id=external_id, amount=amount, currency=currency,
            method=method, allocation=allocation,
        )
        self._reassess_promises(received_at)
        self._reassess_arrangement(received_at)
        return PaymentReceipt(external_id, False, allocation)

    def reverse_payment(
        self: Case, *, external_id: str, reason: str, reversed_at: datetime,
        now: datetime | None = None,
    ) -> None:
        """Undo exactly the allocation of a known payment, once."""
        reason = required_text(reason, "reason", 1000)
        reversed_at = aware_utc(reversed_at, "reversed_at")
        not_in_future(reversed_at, now, "reversed_at")
        payment = self.payments.get(external_id)
        if payment is None:
            raise UnknownPayment(f"no payment {external_id!s:.255} on this case")
        not_before(reversed_at, payment.received_at, "reversed_at", "payment's received_at")
        if payment.reversed:
            raise AlreadyReversed(f"payment {external_id} is already reversed")
        self._payment_reversed(
            timestamp=reversed_at, external_id=external_id, reason=reason,
            allocation=payment.allocation,
        )
        self._reassess_promises(reversed_at)

    # ---- promises ------------------------------------------------------------------

    def make_promise(
        self: Case, *, amount: int, due_date: date, made_at: datetime,
        agent_id: str | None = None, promise_id: UUID | None = None,
        now: datetime | None = None,
    ) -> UUID:
        """The debtor promises ``amount`` by the end of ``due_date`` (their local day)."""
        self._ensure_open()
        amount = validate_amount(amount)
        made_at = aware_utc(made_at, "made_at")
        not_in_future(made_at, now, "made_at")
        if not isinstance(due_date, date) or isinstance(due_date, datetime):
            raise InvalidRequest("due_date", "must be a date")
        agent_id = optional_text(agent_id, "agent_id", 255)
        if due_date < local_date(made_at, self.timezone):
            raise DueDateInPast(f"due date {due_date.isoformat()} is before the promise")
        if amount > max(self.balance, 0):
            raise PromiseExceedsBalance(f"promise of {amount} exceeds balance {self.balance}")
        overdue = {item.item_id for item in self.due_for_breaking(made_at)}
        for promise in self.promises:
            if promise.status is PromiseStatus.PENDING and promise.promise_id not in overdue:
                raise PromisePending("a promise is already pending")
        self.mark_overdue(made_at)
        promise_id = promise_id or self._next_id("promise")
        self._promise_made(
            timestamp=made_at, promise_id=promise_id, amount=amount, due_date=due_date,
            deadline=promise_deadline(due_date, self.timezone), agent_id=agent_id,
        )
        self._reassess_promises(made_at)
        return promise_id

    def _reassess_promises(self: Case, at: datetime) -> None:
        """Bring promise statuses in line with the payments now known (late facts too)."""
        for promise in list(self.promises):
            covered = received_between(self.payments.values(), promise.made_at, promise.deadline)
            if covered >= promise.amount and promise.status is not PromiseStatus.KEPT:
                # Kept when the payments reached the amount, whichever was reported last.
                kept_at = covered_at(self.payments.values(), promise.made_at, promise.deadline,
                                     promise.amount)
                self._promise_kept(timestamp=kept_at or at, promise_id=promise.promise_id)
            elif covered < promise.amount and promise.status is PromiseStatus.KEPT:
                if at >= promise.deadline:
                    self._promise_broken(timestamp=at, promise_id=promise.promise_id)
                else:
                    self._promise_reinstated(timestamp=at, promise_id=promise.promise_id)

    # ---- arrangements ---------------------------------------------------------------

    def agree_arrangement(
        self: Case, *, kind: ArrangementKind | str, instalments: Sequence[Instalment],
        waive_interest: bool, agreed_at: datetime, grace_days: int = 0,
        arrangement_id: UUID | None = None, now: datetime | None = None,
    ) -> UUID:
        """An instalment plan, or a settlement for less than the balance.

        With ``waive_interest`` the interest outstanding at ``agreed_at`` is waived (an explicit
        ``BalanceAdjusted``); the plan must not exceed the balance left after that.
        """
        if isinstance(grace_days, bool) or not isinstance(grace_days, int) or not (
            0 <= grace_days <= MAX_GRACE_DAYS
        ):
            raise InvalidRequest("grace_days", f"must be between 0 and {MAX_GRACE_DAYS}")
        kind, agreed_at, plan = self.check_arrangement(
            kind=kind, instalments=instalments, waive_interest=waive_interest,
            agreed_at=agreed_at, now=now)
        self.mark_overdue(agreed_at)
        arrangement_id = arrangement_id or self._next_id("arrangement")
        self._arrangement_agreed(
            timestamp=agreed_at, arrangement_id=arrangement_id, kind=kind, instalments=plan,
            deadlines=instalment_deadlines(plan, self.timezone, grace_days),
            waive_interest=bool(waive_interest), grace_days=grace_days,
        )
        interest = self.components_at(agreed_at).interest if waive_interest else 0
        if interest > 0:
            self._waive(interest, INTEREST_WAIVED_BY_ARRANGEMENT, agreed_at)
        self._reassess_arrangement(agreed_at)
        return arrangement_id

    def check_arrangement(
        self: Case, *, kind: ArrangementKind | str, instalments: Sequence[Instalment],
        waive_interest: bool, agreed_at: datetime, now: datetime | None = None,
    ) -> tuple[ArrangementKind, datetime, tuple[Instalment, ...]]:
        """Every refusal ``agree_arrangement`` could give, without recording anything
        (maker–checker parks only requests that could be applied)."""
        self._ensure_open()
        kind = _enum(ArrangementKind, kind, "kind")
        agreed_at = aware_utc(agreed_at, "agreed_at")
        not_in_future(agreed_at, now, "agreed_at")
        not_before(agreed_at, self.placed_at, "agreed_at", "case's placed_at")
        plan = _validate_instalments(instalments)
        if plan[0].due_date < local_date(agreed_at, self.timezone):
            raise DueDateInPast("the first instalment is due before the agreement")
        current = self.arrangement
        if current is not None and current.status is ArrangementStatus.ACTIVE:
            if first_missed_instalment(current, list(self.payments.values()), agreed_at) is None:
                raise ArrangementActive("an arrangement is already active")
        payable = self.balance - (self.components_at(agreed_at).interest if waive_interest else 0)
        if sum(i.amount for i in plan) > payable:
            raise ArrangementExceedsBalance(f"plan exceeds the balance of {payable}")
        return kind, agreed_at, plan

    def _reassess_arrangement(self: Case, at: datetime) -> None:
        """Complete an active arrangement once paid; a paid settlement closes the case."""
        current = self.arrangement
        if current is None or current.status is not ArrangementStatus.ACTIVE:
            return
        if not arrangement_paid_in_full(current, list(self.payments.values())):
            return
        # Paid in full when the payments reached the plan's total (in business time), also
        # when the payment that completes it was reported after a later-dated one.
        at = covered_at(self.payments.values(), current.agreed_at, None, current.total) or at
        self._arrangement_completed(timestamp=at, arrangement_id=current.arrangement_id)
        if current.kind is ArrangementKind.SETTLEMENT:
            # What was owed then (not what is charged after it), and what was paid towards
            # the plan beyond its amount: that excess stays the debtor's (credit), however
            # the payments were reported.
            paid = received_between(self.payments.values(), current.agreed_at,
                                    at + timedelta(microseconds=1))
            remainder = self.components_at(at).owed + max(0, paid - current.total)
            if remainder > 0:
                self._waive(remainder, "remainder waived by settlement", at)
            if not self.is_closed:
                self._closed(timestamp=at, reason=CloseReason.SETTLED)

    def _waive(self: Case, amount: int, reason: str, at: datetime) -> None:
        allocation = self._would_allocate(
            self._next_movement(at, waiver_kind(reason), amount, reason))
        self._balance_adjusted(
            timestamp=at, kind=AdjustmentKind.WAIVER, amount=amount, reason=reason,
            allocation=allocation,
        )

    # ---- the scheduler's entry points ------------------------------------------------

    def due_for_breaking(self: Case, now: datetime) -> list[Overdue]:
        """Pending promises and active arrangements whose deadline passed unmet by ``now``."""
        now = aware_utc(now, "now")
        if self.is_closed:
            return []
        payments = list(self.payments.values())
        due = [
            Overdue("promise", p.promise_id, p.deadline)
            for p in self.promises
            if p.status is PromiseStatus.PENDING
            and now >= p.deadline
            and received_between(payments, p.made_at, p.deadline) < p.amount
        ]
        current = self.arrangement
        if current is not None and current.status is ArrangementStatus.ACTIVE:
            missed = first_missed_instalment(current, payments, now)
            if missed is not None:
                due.append(
                    Overdue("instalment", current.arrangement_id, current.deadlines[missed], missed)
                )
        return due

    def mark_overdue(self: Case, now: datetime) -> list[Overdue]:
        """Record ``PromiseBroken``/``ArrangementDefaulted`` for everything overdue.

        Each event's business time is the deadline that passed, not ``now``.
        """
        due = self.due_for_breaking(now)
        for item in due:
            if item.kind == "promise":
                self._promise_broken(timestamp=item.deadline, promise_id=item.item_id)
            else:
                self._arrangement_defaulted(
                    timestamp=item.deadline, arrangement_id=item.item_id,
                    missed_instalment=item.instalment,
                )
        return due


def _enum(enum_type: Any, value: object, field: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidRequest(field, f"must be one of {allowed}") from None


def _validate_instalments(instalments: Sequence[Instalment]) -> tuple[Instalment, ...]:
    if not instalments or len(instalments) > MAX_INSTALMENTS:
        raise InvalidRequest("installments", f"must list 1 to {MAX_INSTALMENTS} instalments")
    plan = []
    for index, instalment in enumerate(instalments):
        if not isinstance(instalment, Instalment):
            raise InvalidRequest(f"installments[{index}]", "must be an Instalment")
        validate_amount(instalment.amount, f"installments[{index}].amount")
        if plan and instalment.due_date < plan[-1].due_date:
            raise InvalidRequest(f"installments[{index}].due_date", "dates must not go back")
        plan.append(instalment)
    return tuple(plan)
