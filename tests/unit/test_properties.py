"""Property tests: balance identity, order-independent promises, next_allowed_at, replay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from msgspec.structs import replace
from hypothesis import strategies as st

from ledger.domain.case import Case
from ledger.domain.compliance import (
    ComplianceContext,
    allowed_stands_until,
    permission,
    refusal_stands_until_next_allowed,
    rules_for,
)
from ledger.domain.errors import DomainError
from ledger.domain.promises import promise_status
from ledger.domain.timeutil import ceil_minute
from ledger.domain.values import CallRecord, Channel, Direction, HoldKind, HoldWindow, Outcome

from case_builders import PLACED_AT, at, place, replay

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.integers(min_value=1, max_value=400_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), amounts),
        st.tuples(st.just("reverse"), st.integers(0, 30)),
        st.tuples(st.sampled_from(["interest", "fee", "waiver"]), amounts),
    ),
    max_size=25,
)
placements = st.fixed_dictionaries(
    {"principal": st.integers(0, 300_000), "interest": st.integers(0, 50_000),
     "fees": st.integers(1, 10_000)}
)


def apply_operation(case: Case, step: int, operation: tuple[str, int]) -> None:
    kind, value = operation
    when = at(step + 1)
    try:
        if kind == "pay":
            case.receive_payment(external_id=f"P{step}", amount=value, currency="USD",
                                 received_at=when, method="ach")
        elif kind == "reverse":
            ids = sorted(case.payments)
            if ids:
                case.reverse_payment(external_id=ids[value % len(ids)], reason="r", reversed_at=when)
        else:
            case.adjust_balance(kind=kind, amount=value, reason="r", occurred_at=when)
    except DomainError:
        pass  # refused commands change nothing; the identity must still hold


def assert_balance_identity(case: Case) -> None:
    expected = (case.placed_balance - case.payments_total + case.reversals_total
                - case.waived_total + case.interest_added + case.fees_added)
    assert case.balance == expected
    assert min(case.principal, case.interest, case.fees, case.credit) >= 0
    live = [p for p in case.payments.values() if not p.reversed]
    assert sum(p.allocation.total for p in live) == case.payments_total - case.reversals_total
    assert all(p.allocation.total == p.amount for p in case.payments.values())
    assert case.credit == sum(p.allocation.credit for p in live)


@PROPERTY
@given(placement=placements, ops=operations)
def test_the_balance_identity_holds_after_every_command(placement: dict, ops: list) -> None:
    case = place(past_due_amount=0, **placement)
    for step, operation in enumerate(ops):
        apply_operation(case, step, operation)
        assert_balance_identity(case)


@PROPERTY
@given(placement=placements, ops=operations)
def test_replaying_the_events_reproduces_the_state_exactly(placement: dict, ops: list) -> None:
    case = place(past_due_amount=0, **placement)
    case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                        occurred_at=at(0, 1))
    case.place_hold(kind="hardship", starts_at=at(1), until=at(5))
    for step, operation in enumerate(ops):
        apply_operation(case, step, operation)
    events = case.collect_events()
    rebuilt = replay(events)
    assert rebuilt == case and rebuilt.version == len(events)
    assert rebuilt.view(at(60)) == case.view(at(60))


late_payment = st.fixed_dictionaries(
    # days 0-1 are before the promise was made (they never count), after the placement
    {"amount": st.integers(1, 12_000), "day": st.integers(0, 14), "reversed": st.booleans()}
)


@PROPERTY
@given(payments=st.lists(late_payment, min_size=1, max_size=6), order=st.randoms(),
       scheduler_runs=st.lists(st.integers(0, 40), max_size=3))
def test_a_promise_ends_with_the_same_status_whatever_order_payments_are_recorded(
    payments: list[dict], order: Any, scheduler_runs: list[int]
) -> None:
    def run(sequence: list[tuple[str, int]]) -> str:
        case = place(principal=1_000_000)
        case.make_promise(amount=20_000, due_date=date(2026, 9, 10), made_at=at(2, 1),
                          now=at(2, 1))
        for action, index in sequence:
            if action == "schedule":
                case.mark_overdue(at(index))
                continue
            payment = payments[index]
            if action == "pay":
                case.receive_payment(external_id=f"P{index}", amount=payment["amount"],
                                     currency="USD", received_at=at(payment["day"], 2),
                                     method="card")
            else:
                case.reverse_payment(external_id=f"P{index}", reason="r", reversed_at=at(20))
        case.mark_overdue(at(60))
        (promise,) = case.promises
        assert promise.status == promise_status(promise, case.payments.values(), at(60))
        return promise.status

    steps = [("pay", i) for i in range(len(payments))]
    steps += [("schedule", day) for day in scheduler_runs]
    reversals = [("reverse", i) for i, p in enumerate(payments) if p["reversed"]]
    shuffled = steps[:]
    order.shuffle(shuffled)
    assert run(steps + reversals) == run(shuffled + reversals)


zones = st.sampled_from([
    ("America/New_York", "US-NY"), ("Europe/London", "GB-ENG"), ("Asia/Shanghai", "CN-31"),
    ("America/Chicago", "FR-75"),
])
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)


@st.composite
def contexts(draw: st.DrawFn) -> ComplianceContext:
    tz, jurisdiction = draw(zones)
    base = draw(instants)
    calls = tuple(
        CallRecord(base + timedelta(minutes=draw(st.integers(-9 * 1440, 0))), Channel.PHONE,
                   Direction.OUTBOUND, draw(st.sampled_from(list(Outcome))))
        for _ in range(draw(st.integers(0, 12)))
    )
    holds = ()
    if draw(st.booleans()):
        starts = base + timedelta(minutes=draw(st.integers(-3000, 3000)))
        until = starts + timedelta(seconds=draw(st.integers(1, 5 * 86400)))
        holds = (HoldWindow(uuid4(), draw(st.sampled_from(list(HoldKind))), starts, until),)
    talked = draw(st.none() | st.just(base - timedelta(minutes=draw(st.integers(0, 10000)))))
    return ComplianceContext(jurisdiction=jurisdiction, timezone=tz, recent_calls=calls,
                             holds=holds, last_conversation_at=talked)


@PROPERTY
@given(ctx=contexts(), channel=st.sampled_from(list(Channel)),
       offset=st.integers(-3 * 1440, 3 * 1440))
def test_next_allowed_at_is_allowed_and_the_minute_before_it_is_not(
    ctx: ComplianceContext, channel: Channel, offset: int
) -> None:
    asked_at = (ctx.recent_calls[0].at if ctx.recent_calls else PLACED_AT) + timedelta(minutes=offset)
    rules = rules_for(ctx.jurisdiction)
    decision = permission(ctx, channel, asked_at, rules)
    if decision.allowed or decision.next_allowed_at is None:
        return
    allowed_at = decision.next_allowed_at
    assert allowed_at.second == 0 and allowed_at.microsecond == 0
    assert permission(ctx, channel, allowed_at, rules).allowed
    minute_before = allowed_at - timedelta(minutes=1)
    if minute_before >= asked_at:
        assert not permission(ctx, channel, minute_before, rules).allowed



def _holds_ending_on_whole_minutes(ctx: ComplianceContext) -> ComplianceContext:
    holds = tuple(replace(h, until=None if h.until is None else ceil_minute(h.until))
                  for h in ctx.holds)
    return replace(ctx, holds=holds)


@PROPERTY
@given(ctx=contexts().map(_holds_ending_on_whole_minutes), channel=st.sampled_from(list(Channel)),
       offset=st.integers(-3 * 1440, 3 * 1440), later=st.floats(0, 1))
def test_asked_again_before_the_next_allowed_time_the_answer_is_that_same_time(
    ctx: ComplianceContext, channel: Channel, offset: int, later: float
) -> None:
    # What lets a case read keep a refusal's next_allowed_at until then (CurrentViews).
    assert refusal_stands_until_next_allowed(ctx)
    asked_at = (ctx.recent_calls[0].at if ctx.recent_calls else PLACED_AT) + timedelta(minutes=offset)
    rules = rules_for(ctx.jurisdiction)
    decision = permission(ctx, channel, asked_at, rules)
    if decision.allowed or decision.next_allowed_at is None:
        return
    again = asked_at + (decision.next_allowed_at - asked_at) * later
    if again < decision.next_allowed_at:
        assert permission(ctx, channel, again, rules).next_allowed_at == decision.next_allowed_at



@PROPERTY
@given(ctx=contexts(), channel=st.sampled_from(list(Channel)),
       offset=st.integers(-3 * 1440, 3 * 1440), later=st.floats(0, 1))
def test_an_allowed_contact_stays_allowed_until_its_answer_may_change(
    ctx: ComplianceContext, channel: Channel, offset: int, later: float
) -> None:
    # What lets a case read keep an allowed call until then (CurrentViews).
    asked_at = (ctx.recent_calls[0].at if ctx.recent_calls else PLACED_AT) + timedelta(
        minutes=offset, seconds=later * 59)
    rules = rules_for(ctx.jurisdiction)
    if not permission(ctx, channel, asked_at, rules).allowed:
        return
    until = allowed_stands_until(ctx, channel, asked_at, rules)
    assert asked_at <= until <= asked_at + timedelta(days=1, hours=1)
    for fraction in (later, 1 - later, 0.5, 0.999999):
        again = asked_at + (until - asked_at) * fraction
        if again < until:
            assert permission(ctx, channel, again, rules).allowed

def test_a_hold_ending_within_a_minute_lets_a_contact_through_before_its_next_allowed_time(
) -> None:
    starts = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    hold = HoldWindow(uuid4(), HoldKind.HARDSHIP, starts, starts + timedelta(seconds=1))
    ctx = ComplianceContext(jurisdiction="US-NY", timezone="America/New_York", holds=(hold,))
    refused = permission(ctx, Channel.EMAIL, starts)
    assert refused.next_allowed_at == starts + timedelta(minutes=1)
    assert permission(ctx, Channel.EMAIL, starts + timedelta(seconds=30)).allowed
    assert not refusal_stands_until_next_allowed(ctx)


def test_an_allowed_call_stands_until_the_end_of_the_contact_hours_that_day() -> None:
    ctx = ComplianceContext(jurisdiction="US-NY", timezone="America/New_York")
    noon = datetime(2026, 3, 3, 17, tzinfo=UTC)  # 12:00 in New York
    assert permission(ctx, Channel.PHONE, noon).allowed
    assert allowed_stands_until(ctx, Channel.PHONE, noon) == datetime(2026, 3, 4, 2, tzinfo=UTC)
    # on the day the clocks go forward nothing is kept: the wall clock jumps at 02:00
    early = datetime(2026, 3, 8, 5, tzinfo=UTC)  # 00:00 EST, before the change
    assert allowed_stands_until(ctx, Channel.LETTER, early) == early
