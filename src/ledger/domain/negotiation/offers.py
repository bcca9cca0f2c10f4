"""Offer arithmetic: the settlement floor and the instalment plans a policy allows.

All amounts are integer minor units. A plan splits the balance into equal instalments with
the remainder on the last one, so the instalments always add up to the balance exactly and
none is below the regular amount. Instalments fall monthly from the first due date (the
first payable day after today in the debtor's calendar), each moved to the next payable day.
"""

from __future__ import annotations

from datetime import date, timedelta

import msgspec

from ledger.domain.negotiation.calendar import add_months, next_payable_day
from ledger.domain.negotiation.terms import OfferTerms


class SettlementOffer(msgspec.Struct, frozen=True):
    amount: int
    pct: int


class PlanOffer(msgspec.Struct, frozen=True):
    installments: int
    amount: int
    """The regular instalment; the last one is ``last_amount`` (it carries the remainder)."""
    last_amount: int
    first_due_date: date
    last_due_date: date
    due_dates: tuple[date, ...]


def settlement_floor_pct(terms: OfferTerms, days_past_due: int) -> int:
    """The lowest settlement (% of balance) the policy allows at ``days_past_due``;
    100 when the case is not yet old enough for any tier."""
    pct = 100
    for tier in terms.settlement_min_pct:  # sorted by dpd_min
        if days_past_due >= tier.dpd_min:
            pct = tier.pct
    return pct


def pct_of(balance: int, pct: int) -> int:
    """``pct`` % of ``balance`` rounded up to a whole minor unit (never below the floor)."""
    return -(-balance * pct // 100)


def settlement_offer(terms: OfferTerms, balance: int, days_past_due: int) -> SettlementOffer:
    pct = settlement_floor_pct(terms, days_past_due)
    return SettlementOffer(amount=pct_of(max(balance, 0), pct), pct=pct)


def split_evenly(total: int, count: int) -> tuple[int, ...]:
    """``count`` amounts adding up to ``total``: equal, the remainder on the last."""
    if count < 1 or total < 0:
        raise ValueError("count must be ≥ 1 and total ≥ 0")
    regular = total // count
    return (regular,) * (count - 1) + (total - regular * (count - 1),)


def monthly_due_dates(first: date, count: int, jurisdiction: str) -> tuple[date, ...]:
    """``first`` then the same day of each following month, each on a payable day."""
    return tuple(
        next_payable_day(add_months(first, k, first.day), jurisdiction) for k in range(count)
    )


def first_due_date(today: date, jurisdiction: str) -> date:
    """The first payable day after ``today`` (the debtor's local date)."""
    return next_payable_day(today + timedelta(days=1), jurisdiction)


def instalment_plans(terms: OfferTerms, balance: int, today: date,
                     jurisdiction: str) -> list[PlanOffer]:
    """Every plan of 2…``max_installments`` monthly instalments within the policy:
    regular instalment ≥ ``min_installment``, last due date ≤ today + ``max_term_days``."""
    plans: list[PlanOffer] = []
    if balance <= 0:
        return plans
    first = first_due_date(today, jurisdiction)
    horizon = today + timedelta(days=terms.max_term_days)
    schedule = [first]  # each plan's dates are the first ``count`` of one monthly schedule
    for count in range(2, terms.max_installments + 1):
        amounts = split_evenly(balance, count)
        if amounts[0] < terms.min_installment:
            break  # more instalments only make each smaller
        schedule.append(next_payable_day(add_months(first, count - 1, first.day), jurisdiction))
        if schedule[-1] > horizon:
            break  # more instalments only end later
        dates = tuple(schedule)
        plans.append(PlanOffer(count, amounts[0], amounts[-1], dates[0], dates[-1], dates))
    return plans
