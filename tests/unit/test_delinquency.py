"""Days past due and buckets."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from ledger.domain.delinquency import bucket_for, days_past_due_stand_until

from case_builders import at, given, pay


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(0, None), (1, "1-30"), (30, "1-30"), (31, "31-60"), (90, "61-90"), (91, "91-120"),
     (150, "121-150"), (180, "151-180"), (181, "180+"), (4000, "180+")],
)
def test_days_past_due_fall_into_the_reporting_buckets(days: int, bucket: str | None) -> None:
    assert bucket_for(days) == bucket


def test_a_case_ages_one_day_per_debtor_local_day() -> None:
    case = given()
    assert case.days_past_due(at(0)) == 95
    # 04:59 UTC on Sep 2 is still Sep 1 in Chicago; 05:00 is Sep 2.
    assert case.days_past_due(datetime(2026, 9, 2, 4, 59, tzinfo=UTC)) == 95
    assert case.days_past_due(datetime(2026, 9, 2, 5, 0, tzinfo=UTC)) == 96


def test_paying_the_past_due_amount_cures_the_case_to_zero_days_and_no_bucket() -> None:
    case = given(pay("P1", 30000, at(1)), pay("P2", 15000, at(2)))
    assert case.days_past_due(at(1)) == 96
    assert case.days_past_due(at(2)) == 0 and case.dpd_bucket(at(2)) is None


def test_reversing_the_curing_payment_brings_the_ageing_back() -> None:
    case = given(pay("P1", 45000, at(1)))
    case.reverse_payment(external_id="P1", reason="bounced", reversed_at=at(3))
    assert case.days_past_due(at(10)) == 105


@settings(max_examples=200, deadline=None)
@for_all(payments=st.lists(st.tuples(st.integers(1, 60000), st.floats(-30, 30)), max_size=4),
         reversed_first=st.booleans(), asked=st.floats(2, 40), later=st.floats(0, 1))
def test_days_past_due_answer_as_asked_until_they_stand_until(
    payments: list[tuple[int, float]], reversed_first: bool, asked: float, later: float
) -> None:
    # What lets a case read keep the figure (CurrentViews). Payments land hours around the
    # question, some curing the case (past due at placement: 45,000).
    case = given(*(pay(f"P{n}", amount, at(asked, hours))
                   for n, (amount, hours) in enumerate(payments)), timezone="America/New_York")
    if payments and reversed_first:
        case.reverse_payment(external_id="P0", reason="bounced", reversed_at=at(41))
    when = at(asked)
    until = days_past_due_stand_until(case.payments.values(), case.timezone, when)
    assert when <= until <= when + timedelta(days=1, hours=1)
    for again in (when + (until - when) * later, until - timedelta(microseconds=1)):
        if when <= again < until:
            assert case.days_past_due(again) == case.days_past_due(when)


def test_days_past_due_stand_until_the_next_local_midnight_once_every_payment_is_in() -> None:
    case = given(pay("P1", 100, at(1)))
    nine_pm_chicago = datetime(2026, 9, 5, 2, tzinfo=UTC)
    assert days_past_due_stand_until(case.payments.values(), "America/Chicago",
                                     nine_pm_chicago) == datetime(2026, 9, 5, 5, tzinfo=UTC)
    assert days_past_due_stand_until(case.payments.values(), "America/Chicago", at(0)) == at(0)
