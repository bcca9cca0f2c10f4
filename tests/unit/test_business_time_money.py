"""Waivers and money facts judged in business time (found by the audit of the allocation):
a waiver dated earlier may forgive only what was owed then, net of credit, and no more than
now; the interest an arrangement waives forgives interest only; money is never dated before
the placement."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import InvalidRequest, WaiverExceedsBalance
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
