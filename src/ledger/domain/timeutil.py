"""Time helpers: aware datetimes, debtor-local days, DST-safe local instants.

Business rules speak in the debtor's local calendar ("by the end of the due date",
"08:00-21:00", "a day"), while events store instants in UTC. These helpers are the only
place that converts between the two, so DST gaps and overlaps are handled once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.domain.errors import InvalidRequest, TimeInFuture

CLOCK_SKEW = timedelta(minutes=5)
MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; an unknown name is ``invalid_request``."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        raise InvalidRequest("timezone", "unknown time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest("timezone", "unknown time zone") from None


OUT_OF_RANGE = "must lie between the years 1 and 9999 in UTC"


def aware_utc(at: object, field: str) -> datetime:
    """Refuse naive datetimes (their instant is unknowable); normalise to UTC."""
    if not isinstance(at, datetime):
        raise InvalidRequest(field, "must be a date-time")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidRequest(field, "must include a UTC offset")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise InvalidRequest(field, OUT_OF_RANGE) from None


def not_in_future(at: datetime, now: datetime | None, field: str) -> None:
    """Facts may be late but not early: refuse ``at`` beyond ``now`` + 5 minutes skew."""
    if now is not None and at > aware_utc(now, "now") + CLOCK_SKEW:
        raise TimeInFuture(field, "lies in the future")


def not_before(at: datetime, earliest: datetime, field: str, what: str) -> None:
    """A fact about an earlier fact cannot have happened before it (a reversal before its
    payment, a resolution before its dispute): a data error, ``invalid_request``."""
    if at < earliest:
        raise InvalidRequest(field, f"lies before the {what} ({earliest.isoformat()})")


def local_date(at: datetime, tz: str) -> date:
    return at.astimezone(zone(tz)).date()


def local_instant(day: date, wall: time, tz: str) -> datetime:
    """Earliest instant (UTC) whose local wall-clock reading on ``day`` is ≥ ``wall``.

    In a fall-back overlap that is the first occurrence; in a spring-forward gap (the
    wall time does not exist) it is the moment the clocks jump, found by bisection
    between the two possible readings.
    """
    tzinfo = zone(tz)
    wanted = datetime.combine(day, wall)
    first = datetime.combine(day, wall, tzinfo).replace(fold=0).astimezone(UTC)
    if first.astimezone(tzinfo).replace(tzinfo=None) == wanted:
        return first
    low = datetime.combine(day, wall, tzinfo).replace(fold=1).astimezone(UTC)
    low, high = min(low, first), max(low, first)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tzinfo).replace(tzinfo=None) >= wanted:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def start_of_local_day(day: date, tz: str) -> datetime:
    return local_instant(day, time(0, 0), tz)


def end_of_local_day(day: date, tz: str) -> datetime:
    """Exclusive end of ``day`` in ``tz``: the first instant of the next local day."""
    return start_of_local_day(day + timedelta(days=1), tz)


def ceil_minute(at: datetime) -> datetime:
    """Round up to a whole minute (permission answers have minute precision)."""
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + MINUTE


@lru_cache(maxsize=256)
def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
