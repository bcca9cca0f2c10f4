"""The Regulation F itemisation: the debt on the itemisation date and what changed it since."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import msgspec

from ledger.domain.messaging.records import Itemization


class Movement(msgspec.Struct, frozen=True):
    """One change of the balance: ``kind`` payment, reversal, interest, fee or waiver;
    ``change`` is signed (a payment lowers the balance)."""

    at: datetime
    kind: str
    change: int


def itemize(placed_balance: int, movements: Iterable[Movement], cutoff: datetime,
            itemization_date: date, period_ends: date) -> Itemization:
    """Amount at ``cutoff`` (end of the itemisation date) and the movements after it.

    ``current_amount`` = itemisation amount + interest + fees − payments − credits, which is
    the balance now (reversals count as negative payments, waivers as credits).
    """
    at_date, interest, fees, payments, credits = placed_balance, 0, 0, 0, 0
    for movement in movements:
        if movement.at <= cutoff:
            at_date += movement.change
        elif movement.kind == "interest":
            interest += movement.change
        elif movement.kind == "fee":
            fees += movement.change
        elif movement.kind in ("payment", "reversal"):
            payments -= movement.change
        elif movement.kind == "waiver":
            credits -= movement.change
    return Itemization(
        itemization_date=itemization_date, itemization_amount=at_date, interest_since=interest,
        fees_since=fees, payments_since=payments, credits_since=credits,
        current_amount=at_date + interest + fees - payments - credits,
        validation_period_ends=period_ends)
