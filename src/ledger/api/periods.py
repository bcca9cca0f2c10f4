"""``from``/``to`` of the metric routes (and the dashboard): a date or an RFC 3339 time.

A date means midnight UTC at its start; a time must carry an offset (a naive time is 422, as
everywhere in the API). Errors name the parameters as clients spell them: ``from``, ``to``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from ledger.api.problems import invalid

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$")
DESCRIPTION = ("A date (YYYY-MM-DD: midnight UTC at its start) or an RFC 3339 time with an offset.")


def instant(text: str | None, field: str) -> datetime | None:
    """The instant ``text`` names, or None when absent; 422 naming ``field`` otherwise."""
    if text is None or text == "":
        return None
    text = text.strip()
    try:
        if DATE.match(text):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        if TIME.match(text):
            # Python 3.11 parses 'Z' and up to microseconds; drop digits past the sixth.
            trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text)
            return datetime.fromisoformat(trimmed.replace("z", "Z").replace("t", "T"))
    except ValueError:
        pass
    raise invalid(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time with an offset")


def period(start_text: str | None, end_text: str | None) -> tuple[datetime | None, datetime | None]:
    """``[from, to)`` as instants; ``to`` on or before ``from`` is an empty period (OpenAPI
    cannot state a rule between two parameters, so a client following the document may send
    it; the queries then find nothing)."""
    return instant(start_text, "from"), instant(end_text, "to")


def first_day(moment: datetime | None) -> date | None:
    """The UTC day ``moment`` falls in: counting by day, a period starts on the day it touches."""
    return None if moment is None else moment.astimezone(UTC).date()


def day_after_last(moment: datetime | None) -> date | None:
    """The first UTC day not touched by a period ending (exclusively) at ``moment``."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    midnight = datetime(utc.year, utc.month, utc.day, tzinfo=UTC)
    return utc.date() if utc == midnight else utc.date() + timedelta(days=1)


def month_span(text: str, field: str) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next) for ``YYYY-MM`` (UTC)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = datetime(year, month, 1, tzinfo=UTC)
    except ValueError:
        raise invalid(field, "must be a month, YYYY-MM") from None
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return first, following
