"""Complaint deadlines (month ends, leap years, time zones) and the complaint lifecycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.complaints.case_complaints import ComplaintResolved, UnknownComplaint
from ledger.domain.complaints.deadlines import (
    overdue_at,
    parse_response_days,
    respond_by,
    response_days,
)
from ledger.domain.errors import InvalidRequest, WaiverExceedsBalance
from ledger.domain.values import HoldKind

from case_builders import at, place

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZONES = ("America/Chicago", "Europe/London", "Asia/Shanghai", "Pacific/Auckland",
         "America/St_Johns", "Pacific/Kiritimati", "UTC")
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31),
                        timezones=st.just(UTC))


@PROPERTY
@given(instants, st.sampled_from(ZONES), st.integers(1, 120))
def test_the_deadline_is_the_end_of_the_debtors_local_day_n_days_later(received, tz, days):
    last_day, deadline = respond_by(received, tz, days)
    local_received = received.astimezone(ZoneInfo(tz)).date()
    assert (last_day - local_received).days == days
    assert deadline.date() == last_day  # it carries the debtor's offset
    assert deadline.astimezone(ZoneInfo(tz)).date() == last_day
    assert overdue_at(deadline).astimezone(ZoneInfo(tz)).date() == last_day + timedelta(days=1)
    assert overdue_at(deadline) - deadline == timedelta(seconds=1)
    assert deadline > received


def test_month_ends_leap_years_and_time_zones():
    # 22:00 in Chicago on 14 Feb 2024 is already 15 Feb in UTC: the debtor's date counts.
    received = datetime(2024, 2, 15, 4, 0, tzinfo=UTC)
    assert respond_by(received, "America/Chicago", 15)[0] == date(2024, 2, 29)
    assert respond_by(received, "UTC", 15)[0] == date(2024, 3, 1)
    assert respond_by(datetime(2023, 2, 14, 12, tzinfo=UTC), "UTC", 15)[0] == date(2023, 3, 1)
    assert respond_by(datetime(2026, 1, 31, 12, tzinfo=UTC), "Europe/London", 56)[0] == date(2026, 3, 28)
    # The deadline's offset follows daylight saving (London: BST from 29 March 2026).
    last_day, deadline = respond_by(datetime(2026, 2, 10, 12, tzinfo=UTC), "Europe/London", 56)
    assert last_day == date(2026, 4, 7)
    assert deadline.isoformat() == "2026-04-07T23:59:59+01:00"
    _, chicago = respond_by(datetime(2026, 10, 2, 10, tzinfo=UTC), "America/Chicago", 15)
    assert chicago.isoformat() == "2026-10-17T23:59:59-05:00"


def test_response_days_by_jurisdiction_and_configuration():
    assert response_days("GB") == 56 and response_days("US-TX") == 15 and response_days("CN") == 15
    table = parse_response_days("US-CA=30,us=20")
    assert response_days("US-CA", table) == 30 and response_days("US-TX", table) == 20
    assert response_days("GB", table) == 56
    for bad in ("GB", "GB=x", "GB=0", "=5"):
        with pytest.raises(ValueError):
            parse_response_days(bad)


def _receive(case, **changes):
    fields = dict(category="billing", channel="letter", summary="wrong fee", received_at=at(days=1),
                  pause_collection=False, response_days=15)
    fields.update(changes)
    return case.receive_complaint(**fields)


def test_pause_collection_is_a_hold_released_by_the_resolution_and_redress_a_waiver():
    case = place()
    complaint = _receive(case, pause_collection=True)
    hold = case.holds[complaint.hold_id]
    assert hold.kind is HoldKind.COMPLAINT and str(case.status(at(days=2))) == "on_hold"
    before = case.balance
    resolved = case.resolve_complaint(complaint_id=complaint.complaint_id, outcome="partial",
                                      root_cause="incorrect_balance", resolved_at=at(days=3),
                                      redress=3900)
    assert resolved.root_cause == "incorrect_balance" and not resolved.overdue
    assert case.holds[complaint.hold_id].released_at == at(days=3)
    assert case.balance == before - 3900 and str(case.status(at(days=4))) == "active"


def test_resolution_refusals():
    case = place()
    complaint = _receive(case)
    resolve = dict(complaint_id=complaint.complaint_id, outcome="upheld", resolved_at=at(days=2))
    with pytest.raises(InvalidRequest):
        case.resolve_complaint(root_cause="bad luck", **resolve)
    with pytest.raises(InvalidRequest):
        case.resolve_complaint(root_cause="other", **{**resolve, "resolved_at": at(days=0)})
    with pytest.raises(WaiverExceedsBalance):
        case.resolve_complaint(root_cause="other", redress=10**9, **resolve)
    with pytest.raises(UnknownComplaint):
        case.resolve_complaint(root_cause="other", **{**resolve, "complaint_id": case.id})
    case.resolve_complaint(root_cause="other", **resolve)
    with pytest.raises(ComplaintResolved):
        case.resolve_complaint(root_cause="other", **resolve)


def test_an_open_complaint_is_marked_overdue_once_at_its_deadline():
    case = place()
    complaint = _receive(case)
    assert case.mark_complaints_overdue(complaint.respond_by) == []  # its last second
    assert case.mark_complaints_overdue(overdue_at(complaint.respond_by)) == [complaint.complaint_id]
    assert case.mark_complaints_overdue(complaint.respond_by + timedelta(days=9)) == []
    overdue = [e for e in case.pending_events if type(e).__name__ == "ComplaintOverdue"]
    assert len(overdue) == 1 and overdue[0].timestamp == overdue_at(complaint.respond_by)


def test_a_late_resolution_records_the_overdue_first():
    case = place()
    complaint = _receive(case)
    case.resolve_complaint(complaint_id=complaint.complaint_id, outcome="upheld",
                           root_cause="process_error", resolved_at=at(days=30))
    names = [type(e).__name__ for e in case.pending_events]
    assert names[-2:] == ["ComplaintOverdue", "ComplaintResolved"]
