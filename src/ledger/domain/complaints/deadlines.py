"""When a complaint must be answered: a number of calendar days from receipt, counted in the
debtor's own calendar, due by the end of the last day where the debtor lives.

GB: the FCA's DISP 1.6 final response within 8 weeks (56 days); US and everywhere else:
15 days (the CFPB's expectation for a response). Due by 23:59:59 of the last day where the
debtor lives; overdue from the next second. Deployments override per jurisdiction
prefix (``LEDGER_COMPLAINT_RESPONSE_DAYS="GB=56,US-CA=30,*=15"``): the longest matching
prefix wins (``US-CA`` before ``US`` before ``*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from ledger.domain.timeutil import end_of_local_day, local_date, zone

DEFAULT_RESPONSE_DAYS: dict[str, int] = {"GB": 56, "*": 15}
MAX_RESPONSE_DAYS = 365
SECOND = timedelta(seconds=1)


def response_days(jurisdiction: str, table: Mapping[str, int] | None = None) -> int:
    """Days allowed for ``jurisdiction`` (``US-TX``, ``GB``, …) by the longest prefix match."""
    table = DEFAULT_RESPONSE_DAYS if table is None else table
    code = jurisdiction.upper()
    parts = code.split("-")
    for length in range(len(parts), 0, -1):
        found = table.get("-".join(parts[:length]))
        if found is not None:
            return found
    return table.get("*", DEFAULT_RESPONSE_DAYS["*"])


def respond_by(received_at: datetime, timezone: str, days: int) -> tuple[date, datetime]:
    """(the last local day to answer, its last second 23:59:59 in the debtor's time zone and
    offset) for a complaint received at ``received_at`` with ``days`` calendar days to answer.

    The time carries the debtor's offset so that its date is the last day as they see it.
    """
    last_day = local_date(received_at, timezone) + timedelta(days=days)
    last_second = end_of_local_day(last_day, timezone) - SECOND
    return last_day, last_second.astimezone(zone(timezone))


def overdue_at(deadline: datetime) -> datetime:
    """The moment a complaint due by ``deadline`` (a last second) becomes overdue (UTC)."""
    return (deadline + SECOND).astimezone(UTC)


def parse_response_days(text: str) -> dict[str, int]:
    """``"GB=56,US=15,*=15"`` → a table (defaults kept for prefixes not named).

    Raises ``ValueError`` naming the bad entry.
    """
    table = dict(DEFAULT_RESPONSE_DAYS)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        prefix, sep, value = entry.partition("=")
        prefix = prefix.strip().upper()
        if not sep or not prefix or not value.strip().isdigit():
            raise ValueError(f"expected PREFIX=DAYS, got {entry!r}")
        days = int(value)
        if not 1 <= days <= MAX_RESPONSE_DAYS:
            raise ValueError(f"{prefix}: days must be 1 to {MAX_RESPONSE_DAYS}")
        table[prefix] = days
    return table
