"""The itemised account of a case: the placed split, then every movement of the balance.

Lines are every payment, reversal, interest/fee adjustment and waiver in effect at ``as_of``,
in business-time order (ties by version), each with its allocation over fees, interest and
principal (plus any credit, the part of a payment beyond everything owed) and the running
balance. Each line moves the balance by its allocation total, so the last running balance is
the identity placed − payments + reversals − waivers + adjustments, i.e. the case's balance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.api.schemas.audit import AllocationView, PlacedSplit, Statement, StatementLine
from ledger.audit.timetravel import CaseAt
from ledger.domain.case import Case
from ledger.domain.money import Allocation
from ledger.domain.values import AdjustmentKind


def _line(event: Any) -> tuple[str, str, int, Allocation, int] | None:
    """(kind, reference, amount, allocation, signed change of the balance) of a money event."""
    allocation: Allocation
    if isinstance(event, Case.PaymentReceived):
        allocation = event.allocation
        return "payment", event.external_id, event.amount, allocation, -allocation.total
    if isinstance(event, Case.PaymentReversed):
        allocation = event.allocation
        return "reversal", event.external_id, allocation.total, allocation, allocation.total
    if isinstance(event, Case.BalanceAdjusted):
        allocation = event.allocation
        change = allocation.fees + allocation.interest + allocation.principal
        if event.kind is AdjustmentKind.WAIVER:
            return "waiver", event.reason, event.amount, allocation, -change
        return "adjustment", event.reason, event.amount, allocation, change
    return None


def statement(at: CaseAt, as_of: datetime) -> Statement:
    """The statement of the case rebuilt by ``case_at`` (same facts, same balance)."""
    case = at.case
    money = []
    for row, event in at.applied:
        line = _line(event)
        if line is not None:
            money.append((event.timestamp, row.originator_version, line))
    money.sort(key=lambda item: (item[0], item[1]))
    balance = case.placed_balance
    lines = []
    for timestamp, _, (kind, reference, amount, allocation, change) in money:
        balance += change
        lines.append(StatementLine(
            at=timestamp, kind=kind, reference=reference, amount=amount,
            allocation=AllocationView(allocation.fees, allocation.interest,
                                      allocation.principal, allocation.credit),
            balance=balance))
    return Statement(
        case_id=case.id, as_of=as_of, currency=case.currency,
        placed=PlacedSplit(case.placed_principal, case.placed_interest, case.placed_fees),
        lines=lines, balance=balance)
