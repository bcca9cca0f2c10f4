"""A case read reuses the view of the same version, and still shows what time alone changes."""

from __future__ import annotations

from datetime import date, timedelta

from case_builders import at, place
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.api.views import CurrentViews, case_view
from ledger.domain.values import Instalment


def _busy_case():  # type: ignore[no-untyped-def]
    """A case with something that changes with time in every part of its view."""
    case = place()
    case.place_hold(kind="hardship", starts_at=at(1), until=at(20))
    case.make_promise(amount=1000, due_date=date(2026, 9, 10), made_at=at(0, 1))
    case.agree_arrangement(kind="installments", waive_interest=False, agreed_at=at(2),
                           instalments=[Instalment(date(2026, 9, 20), 500),
                                        Instalment(date(2026, 10, 20), 500)])
    case.receive_payment(external_id="p-1", amount=500, currency="USD", received_at=at(3),
                         method="ach")
    case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                        occurred_at=at(3, 2))
    case.receive_complaint(category="billing", channel="letter", summary="wrong fee",
                           received_at=at(4), pause_collection=False, response_days=15)
    case.collect_events()
    return case


@settings(max_examples=60, deadline=None)
@given(first=st.floats(0, 400), later=st.lists(st.floats(0, 400), min_size=1, max_size=5))
def test_a_reused_view_equals_a_view_built_afresh_at_any_time(first: float, later: list[float]) -> None:
    case = _busy_case()
    views = CurrentViews()
    assert views.of(case, at(first, 0.5)) == case_view(case, at(first, 0.5))
    for days in later:
        assert views.of(case, at(days, 0.5)) == case_view(case, at(days, 0.5))


@settings(max_examples=80, deadline=None)
@given(hold_seconds=st.integers(0, 59), in_order=st.booleans(),
       offsets=st.lists(st.floats(-7200, 7200), min_size=1, max_size=8))
def test_a_kept_refusal_of_calls_reads_as_a_view_built_afresh_around_a_hold_ending(
    hold_seconds: int, in_order: bool, offsets: list[float]
) -> None:
    # Refusals are kept until they lift (also asked out of order); a hold ending within a
    # minute lets calls through before the minute it rounds up to, so it is never kept.
    case = place()
    ends = at(20) + timedelta(seconds=hold_seconds)
    case.place_hold(kind="hardship", starts_at=at(1), until=ends)
    case.collect_events()
    views = CurrentViews()
    for offset in sorted(offsets) if in_order else offsets:
        now = ends + timedelta(seconds=offset)
        assert views.of(case, now) == case_view(case, now)


@settings(max_examples=60, deadline=None)
@given(first=st.floats(0, 40), steps=st.lists(st.floats(0, 7), min_size=1, max_size=12))
def test_a_kept_next_call_reads_as_a_view_built_afresh_through_the_hours_of_the_day(
    first: float, steps: list[float]
) -> None:
    # Read after read, hours apart: through calling hours, evenings, midnights and the hold.
    case = _busy_case()
    views = CurrentViews()
    now = at(first)
    for hours in steps:
        now += timedelta(hours=hours)
        assert views.of(case, now) == case_view(case, now)


def test_kept_days_past_due_give_way_to_a_curing_payment_received_after_the_read() -> None:
    case = place()
    case.receive_payment(external_id="cure", amount=45000, currency="USD", received_at=at(5),
                         method="ach")  # recorded now, received (backdated) at day 5
    case.collect_events()
    views = CurrentViews()
    for now in (at(4, 20), at(4, 23.9), at(5) - timedelta(seconds=1), at(5), at(5, 1)):
        assert views.of(case, now) == case_view(case, now)
    assert views.of(case, at(5, 2)).days_past_due == 0


def test_a_new_version_is_rebuilt_rather_than_reused() -> None:
    case = _busy_case()
    views = CurrentViews()
    before = views.of(case, at(5))
    case.assign(agent_id="agent-7", assigned_at=at(5))
    case.collect_events()
    after = views.of(case, at(6))
    assert after.version == before.version + 1 and after.assigned_to == "agent-7"
    assert after == case_view(case, at(6))


def test_the_reused_views_are_bounded_least_recently_read_first() -> None:
    views = CurrentViews(capacity=2)
    cases = [place(external_ref=f"CC-{n}") for n in range(3)]
    for case in cases:
        views.of(case, at(1))
    views.of(cases[1], at(2))
    views.of(cases[2], at(2))
    assert list(views._views) == [cases[1].id, cases[2].id]
