"""The debtor's calendar: the days on which a payment can fall due.

A due date should be a day the debtor's bank works: not a Saturday or Sunday, not a public
holiday of their jurisdiction (``US-TX`` → the United States with Texas's holidays; ``GB``,
``CN``, …). Holiday tables come from the ``holidays`` package (data, no I/O); a
jurisdiction it does not know gets weekends only.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

MAX_SEARCH_DAYS = 31
"""No calendar closes for a month: a bound that keeps a broken table from looping."""


@lru_cache(maxsize=256)
def _holidays_of(jurisdiction: str) -> Any:
    country, _, subdivision = jurisdiction.upper().partition("-")
    for subdiv in (subdivision or None, None):
        try:
            return holidays.country_holidays(country, subdiv=subdiv)
        except (NotImplementedError, KeyError, ValueError, AttributeError):
            continue
    return {}


def is_payable_day(day: date, jurisdiction: str) -> bool:
    """True on a weekday that is not a public holiday where the debtor lives."""
    return day.weekday() < 5 and day not in _holidays_of(jurisdiction)


def next_payable_day(day: date, jurisdiction: str) -> date:
    """``day`` itself when payable, else the first payable day after it."""
    for offset in range(MAX_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_payable_day(candidate, jurisdiction):
            return candidate
    return day


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """The same day of the month ``months`` later, clamped to the month's last day
    (31 Jan + 1 month → 28 or 29 Feb; the anchor keeps later months on the 31st)."""
    anchor = anchor_day or day.day
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    return date(year, month, min(anchor, last))
