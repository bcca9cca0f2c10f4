"""Promise-to-pay and arrangement decisions as pure functions of the facts.

A promise is *kept* when payments received from ``made_at`` up to the end of ``due_date``
in the debtor's time zone, excluding payments reversed at any time, total at least its
amount; *broken* when that deadline has passed without that; *pending* otherwise. Because
the answer depends only on the set of facts (never on the order they were recorded), a
backdated payment recorded after a promise was marked broken flips it to kept, and any
recording order ends in the same status.

Instalment plans apply the same idea cumulatively: instalment *i* is met when payments
received since ``agreed_at`` and before its deadline (end of its due date plus grace days)
cover instalments ``0..i``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from ledger.domain.records import ArrangementRecord, PaymentRecord, PromiseRecord
from ledger.domain.timeutil import end_of_local_day
from ledger.domain.values import Instalment, InstalmentStatus, PromiseStatus


def received_between(
    payments: Iterable[PaymentRecord], start: datetime, end: datetime | None
) -> int:
    """Net of reversals: payments with ``start <= received_at < end`` never reversed."""
    return sum(
        p.amount
        for p in payments
        if p.counts and p.received_at >= start and (end is None or p.received_at < end)
    )


def covered_at(payments: Iterable[PaymentRecord], start: datetime, end: datetime | None,
               amount: int) -> datetime | None:
    """When the payments counted by ``received_between`` first added up to ``amount``, in
    business time (the order they were received, not reported): when a promise was kept or a
    plan paid in full. None if they never do."""
    total = 0
    counted = (p for p in payments
               if p.counts and p.received_at >= start and (end is None or p.received_at < end))
    for payment in sorted(counted, key=lambda p: p.received_at):
        total += payment.amount
        if total >= amount:
            return payment.received_at
    return None


def promise_deadline(due_date: date, timezone: str) -> datetime:
    return end_of_local_day(due_date, timezone)


def promise_status(
    promise: PromiseRecord, payments: Iterable[PaymentRecord], at: datetime
) -> PromiseStatus:
    """What the facts say the promise is at ``at``."""
    covered = received_between(payments, promise.made_at, promise.deadline)
    if covered >= promise.amount:
        return PromiseStatus.KEPT
    if at >= promise.deadline:
        return PromiseStatus.BROKEN
    return PromiseStatus.PENDING


def instalment_deadlines(
    instalments: Sequence[Instalment], timezone: str, grace_days: int
) -> tuple[datetime, ...]:
    grace = timedelta(days=grace_days)
    return tuple(
        end_of_local_day(instalment.due_date + grace, timezone) for instalment in instalments
    )


def _cumulative(instalments: Sequence[Instalment]) -> list[int]:
    running, totals = 0, []
    for instalment in instalments:
        running += instalment.amount
        totals.append(running)
    return totals


def first_missed_instalment(
    arrangement: ArrangementRecord, payments: Sequence[PaymentRecord], at: datetime
) -> int | None:
    """Index of the first instalment whose deadline passed before it was covered."""
    owed = _cumulative(arrangement.instalments)
    for index, deadline in enumerate(arrangement.deadlines):
        if deadline > at:
            return None
        if received_between(payments, arrangement.agreed_at, deadline) < owed[index]:
            return index
    return None


def arrangement_paid_in_full(
    arrangement: ArrangementRecord, payments: Sequence[PaymentRecord]
) -> bool:
    return received_between(payments, arrangement.agreed_at, None) >= arrangement.total


def instalment_statuses(
    arrangement: ArrangementRecord, payments: Sequence[PaymentRecord], at: datetime
) -> tuple[InstalmentStatus, ...]:
    """Paid once cumulatively covered (even late); missed if its deadline passed unpaid."""
    paid = received_between(payments, arrangement.agreed_at, None)
    statuses = []
    for owed, deadline in zip(
        _cumulative(arrangement.instalments), arrangement.deadlines, strict=True
    ):
        if paid >= owed:
            statuses.append(InstalmentStatus.PAID)
        elif at >= deadline:
            statuses.append(InstalmentStatus.MISSED)
        else:
            statuses.append(InstalmentStatus.PENDING)
    return tuple(statuses)
