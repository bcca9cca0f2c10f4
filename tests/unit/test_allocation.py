"""Allocation in business time (``ledger.domain.allocation``): pure rules, property-tested."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.allocation import (
    CHARGE,
    INTEREST_WAIVED_BY_ARRANGEMENT,
    INTEREST_WAIVER,
    PAYMENT,
    REVERSAL,
    WAIVER,
    Components,
    Movement,
    allocate,
    business_order,
    insert,
    signed_change,
)
from ledger.domain.money import Allocation, allocate_payment, allocate_waiver

START = datetime(2026, 9, 1, tzinfo=UTC)
PLACED = Components(fees=3900, interest=31250, principal=250000)


def day(n: int) -> datetime:
    return START + timedelta(days=n)


def payment(n: int, amount: int, version: int, ref: str = "P") -> Movement:
    return Movement(day(n), version, PAYMENT, amount, ref)


def interest(n: int, amount: int, version: int) -> Movement:
    return Movement(day(n), version, CHARGE, amount, "monthly interest", interest=amount)


@st.composite
def histories(draw: st.DrawFn) -> list[Movement]:
    """Money movements in record order (versions 0..n-1) with arbitrary business times."""
    count = draw(st.integers(0, 12))
    movements: list[Movement] = []
    paid: list[Movement] = []
    for version in range(count):
        when = day(draw(st.integers(0, 30)))
        kind = draw(st.sampled_from([PAYMENT, PAYMENT, CHARGE, WAIVER, INTEREST_WAIVER,
                                     REVERSAL]))
        if kind == REVERSAL and paid:
            target = paid.pop(draw(st.integers(0, len(paid) - 1)))
            # dated before its payment: refused now, but stored by older releases
            early = draw(st.booleans())
            movements.append(Movement(when if early else max(when, target.at), version,
                                      REVERSAL, target.amount, target.reference))
        elif kind == CHARGE:
            amount = draw(st.integers(1, 50000))
            fee = draw(st.booleans())
            movements.append(Movement(when, version, CHARGE, amount, "charge",
                                      interest=0 if fee else amount, fees=amount if fee else 0))
        elif kind == WAIVER:
            movements.append(Movement(when, version, WAIVER, draw(st.integers(1, 100000)), "w"))
        elif kind == INTEREST_WAIVER:
            movements.append(Movement(when, version, INTEREST_WAIVER,
                                      draw(st.integers(1, 40000)), INTEREST_WAIVED_BY_ARRANGEMENT))
        else:
            moved = Movement(when, version, PAYMENT, draw(st.integers(1, 400000)), f"P{version}")
            paid.append(moved)
            movements.append(moved)
    return movements


def identity(movements: list[Movement]) -> int:
    """placed − payments + reversals − waivers + charges."""
    total = PLACED.balance
    for m in movements:
        total += {PAYMENT: -m.amount, REVERSAL: m.amount, WAIVER: -m.amount,
                  INTEREST_WAIVER: -m.amount}.get(
            m.kind, m.interest + m.fees)
    return total


@settings(max_examples=300, deadline=None)
@given(histories())
def test_every_order_keeps_the_balance_identity_and_no_component_goes_negative(movements):
    result = allocate(PLACED, movements)
    assert result.components.balance == identity(movements)
    running = PLACED.balance
    for moved, share in result.lines:
        assert min(share.fees, share.interest, share.principal, share.credit) >= 0
        running += signed_change(moved, share)
    assert running == result.components.balance
    assert min(result.components) >= 0


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_order_facts_are_reported_in_does_not_change_any_allocation(movements, rng):
    shuffled = list(movements)
    rng.shuffle(shuffled)
    assert allocate(PLACED, shuffled) == allocate(PLACED, movements)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_facts_reported_in_business_order_are_allocated_as_they_come(movements):
    """With nothing out of order, each payment pays what was owed when it came, as the
    plain fees → interest → principal rule on the running components does."""
    ordered = business_order(movements)
    fees, interest_, principal, credit = PLACED
    paid: dict[str, Allocation] = {}
    for moved, share in allocate(PLACED, movements).lines:
        assert moved is ordered.pop(0)
        if moved.kind == PAYMENT:
            expected = allocate_payment(moved.amount, fees, interest_, principal)
            paid[moved.reference] = expected
        elif moved.kind == REVERSAL:
            expected = paid[moved.reference]
        elif moved.kind == WAIVER:
            part = allocate_waiver(min(moved.amount, fees + interest_ + principal),
                                   fees, interest_, principal)
            expected = Allocation(part.fees, part.interest, part.principal,
                                  moved.amount - part.fees - part.interest - part.principal)
        elif moved.kind == INTEREST_WAIVER:
            expected = Allocation(interest=min(moved.amount, interest_),
                                  credit=max(0, moved.amount - interest_))
        else:
            expected = Allocation(fees=moved.fees, interest=moved.interest)
        assert share == expected
        sign = 1 if moved.kind in (REVERSAL, CHARGE) else -1
        fees += sign * share.fees
        interest_ += sign * share.interest
        principal += sign * share.principal


def test_a_payment_dated_before_an_interest_posting_recorded_first_does_not_pay_it():
    posting = interest(20, 5000, version=0)
    early = payment(10, 40000, version=1)
    lines = dict(allocate(PLACED, [posting, early]).lines)
    assert lines[early] == Allocation(fees=3900, interest=31250, principal=4850)
    assert allocate(PLACED, [posting, early]).components == Components(0, 5000, 245150, 0)


def test_a_reversal_restores_what_its_payment_paid_in_business_time():
    posting, early = interest(20, 5000, version=0), payment(10, 40000, version=1)
    undo = Movement(day(25), 2, REVERSAL, 40000, "P")
    lines = dict(allocate(PLACED, [posting, early, undo]).lines)
    assert lines[undo] == lines[early]
    assert allocate(PLACED, [posting, early, undo]).components == Components(3900, 36250,
                                                                              250000, 0)


def test_a_waiver_a_later_reported_payment_leaves_nothing_to_forgive_becomes_credit():
    waiver = Movement(day(20), 0, WAIVER, 200000, "hardship")
    early = payment(10, 250000, version=1)
    result = allocate(PLACED, [waiver, early])
    assert dict(result.lines)[waiver].credit == 200000 - (PLACED.owed - 250000)
    assert result.components.balance == PLACED.balance - 450000


def test_a_reversal_dated_before_its_payment_takes_effect_after_it():
    undo = Movement(day(5), 1, REVERSAL, 1000, "P")
    paid = payment(9, 1000, version=0)
    assert business_order([undo, paid]) == [paid, undo]
    assert allocate(PLACED, [undo, paid]).components == PLACED


def test_insert_says_whether_the_new_movement_went_last():
    first = payment(5, 100, 0, "A")
    assert insert([first], payment(6, 100, 1, "B"))[1] is True
    assert insert([first], payment(5, 100, 1, "B"))[1] is True  # same time: by version
    earlier = payment(4, 100, 1, "B")
    ordered, last = insert([first], earlier)
    assert (ordered, last) == ([earlier, first], False)


def test_shuffled_histories_agree_on_a_fixed_example():
    rng = random.Random(7)
    movements = [payment(d, 30000, v, f"P{v}") for v, d in enumerate([3, 1, 8, 2, 5])]
    movements.append(interest(4, 9000, version=5))
    expected = allocate(PLACED, movements)
    for _ in range(20):
        rng.shuffle(movements)
        assert allocate(PLACED, movements) == expected


def test_the_interest_an_arrangement_waived_never_forgives_fees_or_principal():
    waived = Movement(day(20), 0, INTEREST_WAIVER, 31250, INTEREST_WAIVED_BY_ARRANGEMENT)
    early = payment(10, 10000, version=1)  # reported later: pays fees 3900, interest 6100
    result = allocate(PLACED, [waived, early])
    assert dict(result.lines)[waived] == Allocation(interest=25150, credit=6100)
    assert result.components == Components(0, 0, 250000, 6100)
