"""The itemised account of a case: the placed split, then every movement of the balance.

Lines are every payment, reversal, interest/fee adjustment and waiver in effect at ``as_of``,
in business-time order (ties by version), each with its allocation over fees, interest and
principal (plus any credit: the part of a payment beyond everything owed, or of a waiver that
a payment reported later left nothing to forgive) and the running balance. Allocations are
worked out in that order (``ledger.domain.allocation``), whatever order the facts were
reported in. Each line moves the balance by its allocation total, so the last running balance is
the identity placed − payments + reversals − waivers + adjustments, i.e. the case's balance.
"""

from __future__ import annotations

from datetime import datetime

from ledger.api.schemas.audit import AllocationView, PlacedSplit, Statement, StatementLine
from ledger.audit.timetravel import CaseAt
from ledger.domain.allocation import (
    CHARGE,
    INTEREST_WAIVER,
    PAYMENT,
    REVERSAL,
    WAIVER,
    allocate,
    signed_change,
)

KIND = {PAYMENT: "payment", REVERSAL: "reversal", CHARGE: "adjustment", WAIVER: "waiver",
        INTEREST_WAIVER: "waiver"}
"""A movement's kind as the statement names it."""


def statement(at: CaseAt, as_of: datetime) -> Statement:
    """The statement of the case rebuilt by ``case_at`` (same facts, same balance): its
    movements allocated in business time, as the case's own components are."""
    case = at.case
    balance = case.placed_balance
    lines = []
    for movement, share in allocate(case.placed_components(), case.movements).lines:
        balance += signed_change(movement, share)
        lines.append(StatementLine(
            at=movement.at, kind=KIND[movement.kind], reference=movement.reference,
            amount=movement.amount,
            allocation=AllocationView(share.fees, share.interest, share.principal, share.credit),
            balance=balance))
    return Statement(
        case_id=case.id, as_of=as_of, currency=case.currency,
        placed=PlacedSplit(case.placed_principal, case.placed_interest, case.placed_fees),
        lines=lines, balance=balance)
