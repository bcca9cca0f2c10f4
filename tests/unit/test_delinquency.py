"""Days past due and buckets."""

from datetime import UTC, datetime

import pytest

from ledger.domain.delinquency import bucket_for

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
