"""Apply one ``Case`` event to its ``CaseFacts``; say which derived rows it touched.

Mirrors the state changes of ``ledger.domain.case`` for the fields the read models use.
Returns flags: ``PAYMENTS`` when the case's payment rows (amounts or attribution) must be
re-derived, ``PROMISES`` when its promise rows must be.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from ledger.domain.allocation import (
    CHARGE,
    PAYMENT,
    REVERSAL,
    Components,
    Movement,
    move,
    waiver_kind,
)
from ledger.projections.case_facts import (
    ArrangementFact,
    CaseFacts,
    HoldFact,
    PaymentFact,
    PromiseFact,
)

PAYMENTS = 1
PROMISES = 2
NOTHING = 0


def _move(facts: CaseFacts, event: Any, kind: str, amount: int, reference: str,
          interest: int = 0, fees: int = 0) -> None:
    """Bring the components up to date with one more money movement, in business time."""
    if facts.movements is None or facts.placed is None:  # stored before: the event's figures
        _legacy(facts, event, kind)
        return
    movement = Movement(event.timestamp, len(facts.movements), kind, amount, reference,
                        interest, fees)
    moved = move(Components(*facts.placed),
                 Components(facts.fees, facts.interest, facts.principal, facts.credit),
                 facts.movements, movement, None)  # no allocations kept: a reversal re-allocates
    facts.movements = moved.ordered
    facts.fees, facts.interest, facts.principal, facts.credit = moved.components


def _legacy(facts: CaseFacts, event: Any, kind: str) -> None:
    allocation = event.allocation
    sign = 1 if kind in (REVERSAL, CHARGE) else -1  # payments and both kinds of waiver
    facts.fees += sign * allocation.fees
    facts.interest += sign * allocation.interest
    facts.principal += sign * allocation.principal
    facts.credit -= sign * allocation.credit


def _payment_received(facts: CaseFacts, event: Any) -> int:
    facts.payments.append(PaymentFact(event.external_id, event.amount, event.timestamp))
    facts.payments_total += event.amount
    _move(facts, event, PAYMENT, event.amount, event.external_id)
    return PAYMENTS


def _payment_reversed(facts: CaseFacts, event: Any) -> int:
    amount = 0
    for payment in facts.payments:
        if payment.external_id == event.external_id:
            payment.reversed = True
            facts.reversals_total += payment.amount
            amount = payment.amount
    _move(facts, event, REVERSAL, amount, event.external_id)
    return PAYMENTS


def _balance_adjusted(facts: CaseFacts, event: Any) -> int:
    if str(event.kind) == "waiver":
        _move(facts, event, waiver_kind(event.reason), event.amount, event.reason)
    else:
        allocation = event.allocation
        _move(facts, event, CHARGE, event.amount, event.reason,
              interest=allocation.interest, fees=allocation.fees)
    return NOTHING


def _contact_recorded(facts: CaseFacts, event: Any) -> int:
    at = event.timestamp
    facts.last_contact_at = at if facts.last_contact_at is None else max(facts.last_contact_at, at)
    if str(event.outcome) != "right_party":
        return NOTHING
    bisect.insort_right(facts.rpc_contacts, (at, str(event.channel)), key=lambda item: item[0])
    # Only payments at or after a backdated contact can change attribution.
    return PAYMENTS if any(p.received_at >= at for p in facts.payments) else NOTHING


def _assigned(facts: CaseFacts, event: Any) -> int:
    assignee = event.agent_id or event.agency
    bisect.insort_right(facts.assignments, (event.timestamp, assignee), key=lambda item: item[0])
    # In force: the one starting last in business time (of equal ones, the last recorded),
    # as in the aggregate.
    facts.assigned_to = facts.assignments[-1][1]
    return PAYMENTS if any(p.received_at >= event.timestamp for p in facts.payments) else NOTHING


def _promise_made(facts: CaseFacts, event: Any) -> int:
    facts.promises.append(PromiseFact(event.promise_id, event.amount, event.timestamp,
                                      event.due_date, event.deadline, event.agent_id))
    return PROMISES


def _promise_status(status: str) -> Callable[[CaseFacts, Any], int]:
    def apply(facts: CaseFacts, event: Any) -> int:
        for promise in facts.promises:
            if promise.promise_id == event.promise_id:
                promise.status = status
        return PROMISES
    return apply


def _arrangement_agreed(facts: CaseFacts, event: Any) -> int:
    running, owed_by = 0, []
    for instalment in event.instalments:
        running += instalment.amount
        owed_by.append(running)
    facts.arrangement = ArrangementFact(event.arrangement_id, event.timestamp, owed_by,
                                        list(event.deadlines))
    return NOTHING


def _arrangement_status(status: str) -> Callable[[CaseFacts, Any], int]:
    def apply(facts: CaseFacts, event: Any) -> int:
        plan = facts.arrangement
        if plan is not None and plan.arrangement_id == event.arrangement_id:
            plan.status = status
        return NOTHING
    return apply


def _hold_placed(facts: CaseFacts, event: Any) -> int:
    facts.holds.append(HoldFact(event.hold_id, event.starts_at, event.until))
    return NOTHING


def _hold_released(facts: CaseFacts, event: Any) -> int:
    for hold in facts.holds:
        if hold.hold_id == event.hold_id:
            hold.released_at = event.timestamp
    return NOTHING


def _dispute_opened(facts: CaseFacts, event: Any) -> int:
    facts.open_disputes.append(event.dispute_id)
    return NOTHING


def _dispute_resolved(facts: CaseFacts, event: Any) -> int:
    facts.open_disputes = [d for d in facts.open_disputes if d != event.dispute_id]
    return NOTHING


def _escalated(facts: CaseFacts, event: Any) -> int:
    facts.legal = True
    return NOTHING


def _closed(facts: CaseFacts, event: Any) -> int:
    facts.closed_at, facts.close_reason = event.timestamp, str(event.reason)
    return NOTHING


def _reopened(facts: CaseFacts, event: Any) -> int:
    facts.closed_at = facts.close_reason = None
    facts.legal = False
    return NOTHING


def _nothing(facts: CaseFacts, event: Any) -> int:
    return NOTHING


APPLIERS: dict[str, Callable[[CaseFacts, Any], int]] = {
    "PaymentReceived": _payment_received,
    "PaymentReversed": _payment_reversed,
    "BalanceAdjusted": _balance_adjusted,
    "ContactRecorded": _contact_recorded,
    "Assigned": _assigned,
    "PromiseMade": _promise_made,
    "PromiseKept": _promise_status("kept"),
    "PromiseBroken": _promise_status("broken"),
    "PromiseReinstated": _promise_status("pending"),
    "ArrangementAgreed": _arrangement_agreed,
    "ArrangementCompleted": _arrangement_status("completed"),
    "ArrangementDefaulted": _arrangement_status("defaulted"),
    "HoldPlaced": _hold_placed,
    "HoldReleased": _hold_released,
    "DisputeOpened": _dispute_opened,
    "DisputeResolved": _dispute_resolved,
    "Escalated": _escalated,
    "Closed": _closed,
    "Reopened": _reopened,
    "CommunicationCeased": _nothing,
    "NoteAdded": _nothing,
    "PersonalDataErased": _nothing,
}


def apply_event(facts: CaseFacts, event_type: str, event: Any) -> int:
    """Fold ``event`` into ``facts``; returns the ``PAYMENTS``/``PROMISES`` flags it touched."""
    facts.version = event.originator_version
    applier = APPLIERS.get(event_type, _nothing)
    return applier(facts, event)
