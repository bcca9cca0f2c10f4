"""Plans: due times at the debtor's local midnight (DST included), statuses, next, pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from case_builders import at, given

from ledger.domain.strategy.document import Action, Segment, Step, When
from ledger.domain.strategy.evaluation import ActiveStrategy
from ledger.domain.strategy.plan import StepStatus, due_at, next_action, pause_reason, step_statuses
from test_strategy_evaluation import STRATEGY_ID
from strategy_builders import document

CHICAGO = "America/Chicago"
SEGMENT = Segment("s", When(), (Step(0, Action.SMS, "reminder"), Step(2, Action.CALL),
                                Step(2, Action.EMAIL, "mail"), Step(7, Action.LETTER, "notice")))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def always_allowed(_channel: object, moment: datetime) -> datetime:
    return moment


def test_due_at_is_local_midnight_of_the_entry_date_plus_days_across_the_dst_change() -> None:
    entered = utc(2026, 11, 1, 1, 0)  # 20:00 CDT on Saturday 31 October
    assert due_at(entered, 0, CHICAGO) == utc(2026, 10, 31, 5, 0)  # 00:00 CDT
    assert due_at(entered, 1, CHICAGO) == utc(2026, 11, 1, 5, 0)   # 00:00 CDT, clocks fall back at 02:00
    assert due_at(entered, 2, CHICAGO) == utc(2026, 11, 2, 6, 0)   # 00:00 CST: a 25-hour day


def test_an_entry_late_in_the_local_evening_counts_from_that_local_day() -> None:
    entered = utc(2026, 9, 2, 4, 30)  # 23:30 on 1 September in Chicago, already the 2nd in UTC
    steps = step_statuses(SEGMENT, entered, CHICAGO, {}, entered)
    assert [s.due_at for s in steps[:2]] == [utc(2026, 9, 1, 5, 0), utc(2026, 9, 3, 5, 0)]
    assert [s.status for s in steps] == ["due", "upcoming", "upcoming", "upcoming"]


def test_statuses_done_missed_due_and_upcoming() -> None:
    entered = utc(2026, 9, 1, 15, 0)
    now = utc(2026, 9, 4, 15, 0)  # day 3: the day-2 steps fell due, the sms was never sent
    steps = step_statuses(SEGMENT, entered, CHICAGO, {Action.CALL: utc(2026, 9, 3, 16, 0)}, now)
    assert [s.status for s in steps] == [StepStatus.MISSED, StepStatus.DONE, StepStatus.DUE,
                                         StepStatus.UPCOMING]


def test_a_contact_before_the_due_time_does_not_do_the_step() -> None:
    entered = utc(2026, 9, 1, 15, 0)
    steps = step_statuses(SEGMENT, entered, CHICAGO, {Action.CALL: utc(2026, 9, 2, 16, 0)},
                          utc(2026, 9, 3, 15, 0))
    assert steps[1].status is StepStatus.DUE


def test_next_is_the_first_due_step_and_waits_for_permission_from_its_due_time() -> None:
    entered = utc(2026, 9, 1, 15, 0)
    steps = step_statuses(SEGMENT, entered, CHICAGO, {Action.SMS: utc(2026, 9, 1, 16, 0)},
                          utc(2026, 9, 2, 12, 0))
    upcoming = next_action(steps, utc(2026, 9, 2, 12, 0), lambda _c, m: m + timedelta(hours=8))
    assert (upcoming.action, upcoming.due_at) == (Action.CALL, utc(2026, 9, 3, 5, 0))
    assert upcoming.allowed_at == utc(2026, 9, 3, 13, 0)
    everything = {a: utc(2026, 9, 20) for a in Action}
    done = step_statuses(SEGMENT, entered, CHICAGO, everything, utc(2026, 9, 21))
    assert next_action(done, utc(2026, 9, 21), always_allowed) is None


def test_a_case_plan_uses_the_permission_check_hours_for_allowed_at() -> None:
    case = given(days_past_due=95)
    strategy = ActiveStrategy(STRATEGY_ID, 1, document(challenger=None))
    case.resegment([strategy], at(days=1, hours=12))  # 21:00 local on 2 September
    plan = case.plan([strategy], at(days=1, hours=12))
    assert plan is not None and plan.segment == "late" and plan.paused is None
    assert plan.steps[0].status == "due"
    assert plan.next.action == "call"
    assert plan.next.allowed_at == utc(2026, 9, 3, 13, 0)  # 08:00 the next morning in Chicago
    case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                        occurred_at=at(days=2))
    after = case.plan([strategy], at(days=2, hours=1))
    assert after.steps[0].status == "done" and after.next.action == "escalate"


def test_paused_reasons_in_precedence_order() -> None:
    assert pause_reason(closed=True, on_hold=True, disputed=True, ceased_everywhere=True) == "closed"
    assert pause_reason(closed=False, on_hold=True, disputed=True, ceased_everywhere=False) == "on_hold"
    assert pause_reason(closed=False, on_hold=False, disputed=True, ceased_everywhere=True) == "disputed"
    assert pause_reason(closed=False, on_hold=False, disputed=False, ceased_everywhere=True) == "ceased"
    assert pause_reason(closed=False, on_hold=False, disputed=False, ceased_everywhere=False) is None


def test_a_disputed_or_fully_ceased_case_is_paused_with_no_next_action() -> None:
    strategy = ActiveStrategy(STRATEGY_ID, 1, document(challenger=None))
    disputed = given(lambda c: c.resegment([strategy], at(days=1)),
                     lambda c: c.open_dispute(reason="not mine", opened_at=at(days=1, hours=1)))
    plan = disputed.plan([strategy], at(days=2))
    assert (plan.paused, plan.next) == ("disputed", None)
    ceased = given(lambda c: c.resegment([strategy], at(days=1)),
                   lambda c: c.cease_communication(channels=None, received_at=at(days=1, hours=1)))
    assert ceased.plan([strategy], at(days=2)).paused == "ceased"


def test_a_case_in_no_active_strategy_has_no_plan() -> None:
    strategy = ActiveStrategy(STRATEGY_ID, 1, document(challenger=None))
    case = given(lambda c: c.resegment([strategy], at(days=1)))
    assert case.plan([], at(days=2)) is None
    assert case.plan([ActiveStrategy(STRATEGY_ID, 2, document(challenger=None))], at(days=2)) is None


def test_call_windows_agree_with_next_action_at_every_hour() -> None:
    from ledger.domain.strategy.plan import call_windows

    segment = Segment("s", When(), (Step(0, Action.CALL), Step(0, Action.SMS, "r"),
                                    Step(2, Action.SMS, "r"), Step(2, Action.CALL),
                                    Step(5, Action.CALL), Step(9, Action.ESCALATE)))
    entered = utc(2026, 10, 28, 15, 0)
    done = {Action.SMS: utc(2026, 10, 30, 7, 0)}  # the day-2 sms, so the day-2 call is next
    windows = call_windows(segment, entered, CHICAGO, done)
    moment = entered
    while moment < utc(2026, 11, 10):
        steps = step_statuses(segment, entered, CHICAGO, done, moment)
        found = next_action(steps, moment, always_allowed)
        is_due_call = found is not None and found.action == "call" and found.due_at <= moment
        inside = any(start <= moment and (end is None or moment < end) for start, end in windows)
        assert is_due_call == inside, moment
        moment += timedelta(hours=1)
    assert len(windows) == 3


def test_allowed_until_is_when_permission_first_says_no() -> None:
    from ledger.domain.compliance import permission
    from ledger.domain.strategy.dialing import allowed_until

    case = given(lambda c: c.place_hold(kind="hardship", starts_at=at(days=3), until=at(days=5)))
    for moment, expected in ((at(hours=1), utc(2026, 9, 2, 2, 0)),   # 21:00 Chicago (CDT)
                             (at(days=3, hours=-1), at(days=3))):    # the hold starts first
        assert permission(case, "phone", moment).allowed
        until = allowed_until(case, "phone", moment)
        assert until == expected
        assert not permission(case, "phone", until).allowed
        assert permission(case, "phone", until - timedelta(minutes=1)).allowed
    assert allowed_until(case, "letter", at(hours=1)) == at(days=3)  # letters keep no hours
