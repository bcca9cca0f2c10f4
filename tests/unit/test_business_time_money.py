"""Waivers and money facts judged in business time (found by the audit of the allocation):
a waiver dated earlier may forgive only what was owed then, net of credit, and no more than
now; the interest an arrangement waives forgives interest only; money is never dated before
the placement."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import CaseClosed, InvalidRequest, WaiverExceedsBalance
from ledger.domain.money import Allocation
from ledger.domain.values import Instalment

from case_builders import at, given, pay, then_events


def _charge(kind: str, amount: int, when):
    return lambda case: case.adjust_balance(kind=kind, amount=amount, reason=kind,
                                            occurred_at=when)


def test_a_backdated_waiver_may_forgive_only_what_was_owed_when_it_took_effect() -> None:
    case = given(_charge("interest", 5000, at(20)), principal=10000, interest=0, fees=0, past_due_amount=5000)
    with pytest.raises(WaiverExceedsBalance):
        _charge("waiver", 15000, at(10))(case)
    assert then_events(case) == []
    _charge("waiver", 10000, at(10))(case)
    assert (case.principal, case.interest, case.credit, case.balance) == (0, 5000, 0, 5000)


def test_a_backdated_waiver_may_not_forgive_more_than_is_owed_now_either() -> None:
    case = given(pay("P", 5000, at(5)), principal=10000, interest=0, fees=0, past_due_amount=5000)
    case.reverse_payment(external_id="P", reason="bounced", reversed_at=at(20))
    case.collect_events()
    with pytest.raises(WaiverExceedsBalance):  # 5,000 owed on day 10 (the payment stood)
        _charge("waiver", 10000, at(10))(case)


def test_a_dispute_adjustment_is_judged_at_its_resolution_time() -> None:
    case = given(principal=10000, interest=0, fees=0, past_due_amount=5000)
    dispute = case.open_dispute(reason="not mine", opened_at=at(5))
    _charge("fee", 3000, at(25))(case)
    with pytest.raises(WaiverExceedsBalance):
        case.resolve_dispute(dispute_id=dispute, outcome="upheld", resolved_at=at(10),
                             adjustment=13000)
    case.resolve_dispute(dispute_id=dispute, outcome="upheld", resolved_at=at(10),
                         adjustment=10000)
    assert (case.principal, case.fees, case.credit) == (0, 3000, 0)


def test_a_rejected_dispute_takes_no_adjustment() -> None:
    case = given()
    dispute = case.open_dispute(reason="not mine", opened_at=at(5))
    with pytest.raises(InvalidRequest) as refused:
        case.resolve_dispute(dispute_id=dispute, outcome="rejected", resolved_at=at(10),
                             adjustment=100)
    assert refused.value.field == "adjustment"


def test_interest_waived_by_an_arrangement_forgives_interest_only_when_a_payment_came_first() -> None:
    plan = (Instalment(date(2026, 10, 15), 5000), Instalment(date(2026, 11, 15), 5000))
    case = given(principal=10000, interest=2000, fees=1000, past_due_amount=5000)
    case.agree_arrangement(kind="installments", instalments=plan, waive_interest=True,
                           agreed_at=at(20))
    pay("EARLY", 2500, at(10))(case)  # reported after, received before: fees, then interest
    events = {type(e).__name__: e for e in case.collect_events()}
    assert events["PaymentReceived"].allocation == Allocation(fees=1000, interest=1500)
    assert (case.fees, case.interest, case.principal) == (0, 0, 10000)
    assert case.credit == 1500 and case.balance == 13000 - 2000 - 2500


@pytest.mark.parametrize("command", [
    pay("P", 1000, at(-1)), _charge("interest", 700, at(-1)), _charge("waiver", 700, at(-1)),
])
def test_money_dated_before_the_placement_is_an_invalid_request(command) -> None:
    case = given()
    with pytest.raises(InvalidRequest) as refused:
        command(case)
    assert "placed_at" in str(refused.value) and then_events(case) == []


def test_a_backdated_waiver_may_not_leave_a_later_waiver_nothing_to_forgive() -> None:
    case = given(_charge("waiver", 100000, at(60)), _charge("interest", 100000, at(90)),
                 principal=100000, interest=20000, fees=5000, past_due_amount=5000)
    # 125,000 owed both on day 10 and now, but the day-60 waiver would then forgive
    # 75,000 that nobody owed: money owed back that no payment explains.
    with pytest.raises(WaiverExceedsBalance):
        _charge("waiver", 100000, at(10))(case)
    assert then_events(case) == [] and case.credit == 0


def test_a_backdated_waiver_may_not_take_the_interest_an_arrangement_already_waived() -> None:
    plan = (Instalment(date(2026, 12, 15), 50000), Instalment(date(2027, 1, 15), 55000))
    case = given(principal=100000, interest=20000, fees=5000, past_due_amount=5000)
    case.agree_arrangement(kind="installments", instalments=plan, waive_interest=True,
                           agreed_at=at(30))
    case.collect_events()
    with pytest.raises(WaiverExceedsBalance):
        _charge("waiver", 20000, at(10))(case)
    # Any waiver before it would take interest first (then none would be left for the
    # arrangement's); after it, one finds no interest and forgives the fees.
    with pytest.raises(WaiverExceedsBalance):
        _charge("waiver", 5000, at(10))(case)
    _charge("waiver", 5000, at(40))(case)
    assert (case.interest, case.fees, case.principal, case.credit) == (0, 0, 100000, 0)


def _settled(order: list[tuple[str, int, int]]):
    case = given(principal=100000, interest=20000, fees=5000, past_due_amount=5000)
    case.agree_arrangement(kind="settlement", waive_interest=False, agreed_at=at(30),
                           instalments=(Instalment(date(2026, 12, 15), 50000),))
    for external_id, amount, day in order:
        pay(external_id, amount, at(day))(case)
    return case


def test_a_settlement_ends_the_same_whatever_order_its_payments_are_reported_in() -> None:
    first = _settled([("P0", 5000, 35), ("P1", 50000, 60)])
    second = _settled([("P1", 50000, 60), ("P0", 5000, 35)])
    for case in (first, second):  # paid 55,000 for a 50,000 settlement: 5,000 is theirs
        assert (case.balance, case.credit, case.close_reason) == (-5000, 5000, "settled")
    assert first.waived_total == second.waived_total == 75000


def test_a_closed_case_takes_no_dispute_adjustment() -> None:
    case = given()
    dispute = case.open_dispute(reason="not mine", opened_at=at(5))
    case.close(reason="recalled", closed_at=at(6))
    with pytest.raises(CaseClosed):
        case.resolve_dispute(dispute_id=dispute, outcome="upheld", resolved_at=at(7),
                             adjustment=1000)


def test_an_arrangement_before_the_placement_is_an_invalid_request() -> None:
    plan = (Instalment(date(2026, 12, 15), 5000),)
    with pytest.raises(InvalidRequest) as refused:
        given().agree_arrangement(kind="installments", instalments=plan, waive_interest=True,
                                  agreed_at=at(-3))
    assert refused.value.field == "agreed_at"


def test_a_dispute_adjustment_dated_before_the_placement_is_an_invalid_request() -> None:
    case = given()
    dispute = case.open_dispute(reason="raised with the bank", opened_at=at(-5))
    with pytest.raises(InvalidRequest) as refused:
        case.resolve_dispute(dispute_id=dispute, outcome="upheld", resolved_at=at(-4),
                             adjustment=100)
    assert refused.value.field == "resolved_at"
