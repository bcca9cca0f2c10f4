"""The domain's one time check, ``aware_utc``, at the ends of the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.domain.errors import InvalidRequest
from ledger.domain.timeutil import aware_utc


@pytest.mark.parametrize("at", [
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
])
def test_an_instant_outside_the_years_1_to_9999_in_utc_is_refused_by_field(at):
    with pytest.raises(InvalidRequest) as refused:
        aware_utc(at, "received_at")
    assert refused.value.field == "received_at"


def test_an_instant_inside_the_calendar_is_normalised_to_utc():
    at = datetime(9999, 12, 31, 10, tzinfo=timezone(timedelta(hours=-12)))
    assert aware_utc(at, "at") == datetime(9999, 12, 31, 22, tzinfo=UTC)
