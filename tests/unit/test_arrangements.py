"""Arrangements: instalment plans and settlements."""

from datetime import date

import pytest

from ledger.domain.errors import (
    ArrangementActive,
    ArrangementExceedsBalance,
    CaseClosed,
    DueDateInPast,
    InvalidRequest,
)
from ledger.domain.values import Instalment

from case_builders import at, given, pay, then_events

PLAN = (Instalment(date(2026, 9, 15), 10000), Instalment(date(2026, 10, 15), 10000))


def agree(kind: str = "installments", plan=PLAN, waive_interest: bool = False, grace: int = 0):
    return lambda case: case.agree_arrangement(
        kind=kind, instalments=plan, waive_interest=waive_interest, agreed_at=at(0, 1),
        grace_days=grace,
    )


def test_an_instalment_plan_is_agreed_and_tracked_per_instalment() -> None:
    case = given()
    agree()(case)
    assert then_events(case) == ["ArrangementAgreed"]
    pay("P1", 10000, at(10))(case)
    view = case.view(at(10))
    assert view.status == "arrangement"
    assert [i.status for i in view.arrangement.installments] == ["paid", "pending"]


def test_paying_every_instalment_completes_the_plan() -> None:
    case = given(agree(), pay("P1", 10000, at(10)))
    pay("P2", 10000, at(40))(case)
    assert then_events(case) == ["PaymentReceived", "ArrangementCompleted"]
    assert case.view(at(40)).status == "active"


def test_a_missed_instalment_defaults_the_plan() -> None:
    case = given(agree())
    assert case.due_for_breaking(at(14)) == []
    (item,) = case.due_for_breaking(at(16))
    assert item.kind == "instalment" and item.instalment == 0
    case.mark_overdue(at(16))
    assert then_events(case) == ["ArrangementDefaulted"]
    assert case.arrangement.status == "defaulted" and case.arrangement.missed_instalment == 0


def test_grace_days_delay_the_default() -> None:
    case = given(agree(grace=3))
    assert case.due_for_breaking(at(16)) == []
    assert len(case.due_for_breaking(at(19))) == 1


def test_a_settlement_paid_in_full_waives_the_remainder_and_closes_the_case_as_settled() -> None:
    case = given(agree(kind="settlement", plan=(Instalment(date(2026, 9, 30), 150000),)))
    pay("P1", 150000, at(20))(case)
    assert then_events(case) == [
        "PaymentReceived", "ArrangementCompleted", "BalanceAdjusted", "Closed",
    ]
    assert case.balance == 0 and case.close_reason == "settled"
    assert case.waived_total == 285150 - 150000


def test_waiving_interest_is_an_explicit_adjustment() -> None:
    case = given()
    agree(waive_interest=True)(case)
    assert then_events(case) == ["ArrangementAgreed", "BalanceAdjusted"]
    assert case.interest == 0


def test_a_second_arrangement_while_one_is_active_is_refused() -> None:
    with pytest.raises(ArrangementActive) as refused:
        agree()(given(agree()))
    assert refused.value.code == "arrangement_active"


def test_an_arrangement_larger_than_the_balance_is_refused() -> None:
    with pytest.raises(ArrangementExceedsBalance) as refused:
        agree(plan=(Instalment(date(2026, 9, 15), 285151),))(given())
    assert refused.value.code == "arrangement_exceeds_balance"


def test_the_interest_waiver_counts_when_checking_the_balance() -> None:
    with pytest.raises(ArrangementExceedsBalance):
        agree(plan=(Instalment(date(2026, 9, 15), 260000),), waive_interest=True)(given())


def test_an_arrangement_on_a_closed_case_is_refused() -> None:
    with pytest.raises(CaseClosed):
        agree()(given(lambda c: c.close(reason="recalled", closed_at=at(0, 0.5))))


def test_an_arrangement_starting_in_the_past_is_refused() -> None:
    with pytest.raises(DueDateInPast):
        agree(plan=(Instalment(date(2026, 8, 1), 100),))(given())


def test_an_empty_plan_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as refused:
        agree(plan=())(given())
    assert refused.value.field == "installments"


def test_a_settlement_completed_by_a_payment_reported_late_closes_when_it_was_paid() -> None:
    settlement = (Instalment(date(2026, 9, 15), 20000), Instalment(date(2026, 10, 15), 20000))
    case = given(agree("settlement", plan=settlement), pay("SECOND", 20000, at(40)))
    pay("FIRST", 20000, at(10))(case)  # reported after, received before
    events = {type(e).__name__: e for e in case.collect_events()}
    assert events["ArrangementCompleted"].timestamp == at(40)
    assert events["Closed"].timestamp == at(40)
    assert events["BalanceAdjusted"].timestamp == at(40)  # the remainder, waived then


def _interest(amount: int, when):
    return lambda case: case.adjust_balance(kind="interest", amount=amount, reason="monthly",
                                            occurred_at=when)


def test_waiving_interest_waives_what_was_outstanding_when_agreed_not_later_postings() -> None:
    case = given(_interest(5000, at(20)))  # recorded first, dated after the agreement
    agree(waive_interest=True)(case)
    waiver = case.collect_events()[-1]
    assert waiver.amount == 31250 and waiver.allocation.interest == 31250
    assert (case.fees, case.interest, case.principal) == (3900, 5000, 250000)


def test_a_settlement_waives_the_remainder_owed_when_paid_not_later_postings() -> None:
    settlement = (Instalment(date(2026, 9, 30), 150000),)
    case = given(agree(kind="settlement", plan=settlement), _interest(5000, at(40)))
    pay("P1", 150000, at(20))(case)  # reported after the posting, received before it
    waiver = next(e for e in case.collect_events() if type(e).__name__ == "BalanceAdjusted")
    assert waiver.amount == 285150 - 150000 and waiver.allocation.credit == 0
    assert (case.credit, case.interest, case.close_reason) == (0, 5000, "settled")
