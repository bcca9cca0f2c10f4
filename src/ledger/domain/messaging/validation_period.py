"""Regulation F §1006.34(b)(5): when the validation period ends.

A collector may assume a mailed notice is received five days after sending, not counting
Saturdays, Sundays and legal public holidays (5 U.S.C. 6103(a), with the observed-day rule of
6103(b)); the consumer then has 30 days to dispute. Example: sent Friday 2026-11-20, received
Monday 2026-11-30 (Thanksgiving 2026-11-26 skipped), the period ends 2026-12-30.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from ledger.domain.timeutil import end_of_local_day, local_date

RECEIPT_BUSINESS_DAYS = 5
DISPUTE_DAYS = 30
NOTICE_DEADLINE_DAYS = 5
"""The notice is due within five days after the initial communication (§1006.34(a)(1))."""


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.US(years=year, observed=True).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def assumed_receipt(sent_on: date) -> date:
    """Five business days after ``sent_on`` (the sending day itself does not count)."""
    day, counted = sent_on, 0
    while counted < RECEIPT_BUSINESS_DAYS:
        day += timedelta(days=1)
        counted += is_business_day(day)
    return day


def validation_period_ends(sent_on: date) -> date:
    return assumed_receipt(sent_on) + timedelta(days=DISPUTE_DAYS)


def notice_due_by(first_communication: datetime, timezone: str) -> date:
    """The last day (the debtor's calendar) a validation notice counts as sent on time:
    the fifth day after the initial communication's."""
    return local_date(first_communication, timezone) + timedelta(days=NOTICE_DEADLINE_DAYS)


def notice_deadline(first_communication: datetime, timezone: str) -> datetime:
    """The first moment a validation notice is late: the end of ``notice_due_by``."""
    return end_of_local_day(notice_due_by(first_communication, timezone), timezone)
