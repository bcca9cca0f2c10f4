"""Payments and reversals: allocation, idempotency on external_id, closed cases."""

from collections.abc import Callable
from datetime import timedelta, timezone

import pytest

from ledger.domain.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    DuplicatePayment,
    InvalidRequest,
    TimeInFuture,
    UnknownPayment,
)
from ledger.domain.money import Allocation

from ledger.domain.case import Case

from case_builders import at, given, pay, place, replay, then_events


def test_a_payment_is_allocated_to_fees_then_interest_then_principal() -> None:
    case = given()
    receipt = case.receive_payment(
        external_id="PAY-1", amount=40000, currency="USD", received_at=at(1), method="ach"
    )
    assert then_events(case) == ["PaymentReceived"]
    assert receipt.allocation == Allocation(fees=3900, interest=31250, principal=4850)
    assert (case.fees, case.interest, case.principal) == (0, 0, 245150)
    assert case.balance == 285150 - 40000


def test_an_overpayment_is_kept_as_credit() -> None:
    case = given(pay("PAY-1", 300000, at(1)))
    assert case.credit == 14850 and case.balance == -14850
    assert case.view(at(1)).paid_total == 300000


def test_the_same_payment_posted_again_is_a_replay_without_events() -> None:
    case = given(pay("PAY-1", 1000, at(1)))
    receipt = pay("PAY-1", 1000, at(1))(case)
    assert receipt.replayed is True and then_events(case) == []


def test_the_same_external_id_with_other_fields_is_a_duplicate_payment() -> None:
    case = given(pay("PAY-1", 1000, at(1)))
    with pytest.raises(DuplicatePayment) as refused:
        pay("PAY-1", 2000, at(1))(case)
    assert refused.value.code == "duplicate_payment" and then_events(case) == []


def test_a_payment_in_another_currency_is_refused() -> None:
    case = given()
    with pytest.raises(CurrencyMismatch):
        pay("PAY-1", 1000, at(1), currency="EUR")(case)
    assert then_events(case) == []


@pytest.mark.parametrize("amount", [0, -5, 10**12 + 1])
def test_a_payment_amount_outside_the_limits_is_an_invalid_request(amount: int) -> None:
    with pytest.raises(InvalidRequest) as refused:
        pay("PAY-1", amount, at(1))(given())
    assert refused.value.field == "amount"


def test_a_naive_received_at_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as refused:
        pay("PAY-1", 100, at(1).replace(tzinfo=None))(given())
    assert refused.value.field == "received_at"


def test_a_payment_received_in_the_future_is_refused_when_now_is_given() -> None:
    case = given()
    with pytest.raises(TimeInFuture) as refused:
        case.receive_payment(
            external_id="P", amount=1, currency="USD", received_at=at(1), method="card",
            now=at(1) - timedelta(minutes=6),
        )
    assert refused.value.code == "time_in_future"


def test_a_reversal_undoes_exactly_the_allocation_of_its_payment() -> None:
    case = given(pay("PAY-1", 40000, at(1)), pay("PAY-2", 5000, at(2)))
    case.reverse_payment(external_id="PAY-1", reason="chargeback", reversed_at=at(3))
    assert then_events(case) == ["PaymentReversed"]
    assert (case.fees, case.interest, case.principal) == (3900, 31250, 250000 - 5000)
    assert case.view(at(3)).payments["PAY-1"].reversed is True
    assert case.view(at(3)).paid_total == 5000


def test_a_reversal_of_an_overpayment_takes_back_the_credit() -> None:
    case = given(pay("PAY-1", 300000, at(1)))
    case.reverse_payment(external_id="PAY-1", reason="bounced", reversed_at=at(2))
    assert case.credit == 0 and case.balance == case.placed_balance


def test_reversing_an_unknown_payment_is_refused() -> None:
    with pytest.raises(UnknownPayment) as refused:
        given().reverse_payment(external_id="NOPE", reason="x", reversed_at=at(1))
    assert refused.value.code == "unknown_payment"


def test_a_payment_is_reversed_only_once() -> None:
    case = given(pay("PAY-1", 100, at(1)))
    case.reverse_payment(external_id="PAY-1", reason="x", reversed_at=at(2))
    with pytest.raises(AlreadyReversed) as refused:
        case.reverse_payment(external_id="PAY-1", reason="x", reversed_at=at(3))
    assert refused.value.code == "already_reversed"


def test_a_payment_on_a_closed_case_is_recorded_and_does_not_reopen_it() -> None:
    case = given(lambda c: c.close(reason="recalled", closed_at=at(1)))
    pay("PAY-1", 100, at(2))(case)
    case.reverse_payment(external_id="PAY-1", reason="x", reversed_at=at(3))
    assert then_events(case) == ["PaymentReceived", "PaymentReversed"]
    assert case.view(at(3)).status == "closed"


def test_event_timestamps_are_the_business_times_normalised_to_utc() -> None:
    case = given()
    local = at(1).astimezone(timezone(timedelta(hours=-5)))
    pay("PAY-1", 100, local)(case)
    (received,) = case.collect_events()
    assert received.timestamp == at(1) and received.timestamp.tzinfo is not None


@pytest.mark.parametrize("external_id", ["FT/2026/0001", ".", ".."])
def test_an_external_id_the_reversal_path_could_not_name_is_an_invalid_request(
        external_id: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        pay(external_id, 100, at(1))(given())
    assert refused.value.field == "external_id"


def test_a_reversal_dated_before_its_payment_is_an_invalid_request() -> None:
    case = given(pay("PAY-1", 1000, at(5)))
    with pytest.raises(InvalidRequest) as refused:
        case.reverse_payment(external_id="PAY-1", reason="returned", reversed_at=at(4))
    assert refused.value.field == "reversed_at"
    case.reverse_payment(external_id="PAY-1", reason="returned", reversed_at=at(5))


def _post_interest(amount: int, when) -> Callable[[Case], None]:
    return lambda case: case.adjust_balance(kind="interest", amount=amount, reason="monthly",
                                            occurred_at=when)


def test_a_payment_reported_after_a_later_interest_posting_pays_what_was_owed_when_it_came() -> None:
    case = given(_post_interest(5000, at(20)))
    receipt = pay("PAY-1", 40000, at(10))(case)
    assert receipt.allocation == Allocation(fees=3900, interest=31250, principal=4850)
    assert (case.fees, case.interest, case.principal, case.credit) == (0, 5000, 245150, 0)
    assert case.payments["PAY-1"].allocation == receipt.allocation


def test_a_backdated_payment_re_derives_the_allocation_of_the_later_ones() -> None:
    case = given(pay("PAY-2", 10000, at(20)))
    assert case.payments["PAY-2"].allocation == Allocation(fees=3900, interest=6100)
    pay("PAY-1", 5000, at(10))(case)
    assert case.payments["PAY-1"].allocation == Allocation(fees=3900, interest=1100)
    assert case.payments["PAY-2"].allocation == Allocation(interest=10000)
    assert (case.fees, case.interest, case.principal) == (0, 31250 - 11100, 250000)


def test_a_reversal_restores_the_business_time_allocation_of_its_payment() -> None:
    case = given(_post_interest(5000, at(20)), pay("PAY-1", 40000, at(10)))
    case.reverse_payment(external_id="PAY-1", reason="bounced", reversed_at=at(25))
    reversed_ = case.collect_events()[-1]
    assert reversed_.allocation == Allocation(fees=3900, interest=31250, principal=4850)
    assert (case.fees, case.interest, case.principal) == (3900, 36250, 250000)


def test_as_of_between_a_backdated_payment_and_an_earlier_recorded_posting_shows_no_negative() -> None:
    case = place()
    _post_interest(5000, at(20))(case)
    pay("PAY-1", 300000, at(10))(case)
    events = case.collect_events()
    before_posting = events[0].mutate(None)  # as ``case_at`` replays the facts by then
    for event in events[1:]:
        if event.timestamp <= at(15):
            event.apply(before_posting)
    assert min(before_posting.fees, before_posting.interest, before_posting.principal) == 0
    assert before_posting.credit == 300000 - 285150 and before_posting.balance == -14850
    assert replay(events).balance == 285150 + 5000 - 300000
