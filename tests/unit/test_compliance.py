"""Compliance: presets, permission with reasons and next allowed time, recorded breaches."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from ledger.domain.compliance import (
    CN,
    DEFAULT,
    GB,
    US,
    ComplianceContext,
    breaches,
    permission,
    preset_for,
    rules_for,
)
from ledger.domain.compliance.rules import RULE_CODES
from ledger.domain.errors import InvalidRequest
from ledger.domain.values import CallRecord, HoldKind, HoldWindow

from case_builders import at, given

NY, LONDON, SHANGHAI = "America/New_York", "Europe/London", "Asia/Shanghai"


def local(tz: str, *fields: int) -> datetime:
    return datetime(*fields, tzinfo=ZoneInfo(tz))


def context(tz: str = NY, jurisdiction: str = "US-NY", **fields) -> ComplianceContext:
    return ComplianceContext(jurisdiction=jurisdiction, timezone=tz, **fields)


def call(when: datetime, outcome: str = "no_answer", direction: str = "outbound") -> CallRecord:
    return CallRecord(at=when, channel="phone", direction=direction, outcome=outcome)


@pytest.mark.parametrize(
    ("jurisdiction", "preset"),
    [("US-TX", US), ("US", US), ("GB-ENG", GB), ("UK", GB), ("CN-31", CN), ("FR-75", DEFAULT),
     ("", DEFAULT)],
)
def test_a_jurisdiction_maps_to_its_countrys_preset(jurisdiction: str, preset) -> None:
    assert preset_for(jurisdiction) == preset


def test_a_tenant_can_override_a_preset_parameter_and_bad_overrides_are_refused() -> None:
    assert rules_for("US-TX", {"contact_start": "09:00"}).contact_start == "09:00"
    with pytest.raises(InvalidRequest):
        rules_for("US-TX", {"no_such_rule": 1})
    with pytest.raises(InvalidRequest):
        rules_for("US-TX", {"contact_start": "22:00", "contact_end": "08:00"})


def test_rule_codes_are_stable_snake_case() -> None:
    assert all(code.islower() and " " not in code for code in RULE_CODES)


def test_contact_inside_local_hours_is_allowed_at_that_instant() -> None:
    decision = permission(context(), "phone", local(NY, 2026, 9, 2, 8, 0))
    assert decision.allowed and decision.reasons == []


def test_contact_before_8_is_refused_until_8_local() -> None:
    decision = permission(context(), "phone", local(NY, 2026, 9, 2, 7, 59, 30))
    assert not decision.allowed and [r.rule for r in decision.reasons] == ["outside_hours"]
    assert decision.next_allowed_at == local(NY, 2026, 9, 2, 8, 0)


def test_contact_at_9pm_is_refused_until_8_the_next_morning() -> None:
    decision = permission(context(), "sms", local(NY, 2026, 9, 2, 21, 0))
    assert decision.next_allowed_at == local(NY, 2026, 9, 3, 8, 0)


def test_letters_are_not_bound_by_hours() -> None:
    assert permission(context(), "letter", local(NY, 2026, 9, 2, 3, 0)).allowed


@pytest.mark.parametrize(
    ("tz", "evening", "expected_utc"),
    [
        # spring forward: the next morning is already on summer time (UTC-4 / UTC+1)
        (NY, (2026, 3, 7, 22, 0), datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        (LONDON, (2026, 3, 28, 22, 0), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        # fall back: the next morning is on standard time (UTC-5 / UTC+0)
        (NY, (2026, 10, 31, 22, 0), datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
        (LONDON, (2026, 10, 24, 22, 0), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    ],
)
def test_next_allowed_at_is_8_local_across_dst_changes(tz, evening, expected_utc) -> None:
    jurisdiction = "US-NY" if tz == NY else "GB-ENG"
    decision = permission(context(tz, jurisdiction), "phone", local(tz, *evening))
    assert decision.next_allowed_at == expected_utc


def test_on_the_fall_back_night_the_repeated_hour_is_outside_hours() -> None:
    first_one_am = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_one_am = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    for moment in (first_one_am, second_one_am):
        decision = permission(context(), "phone", moment)
        assert decision.next_allowed_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_an_override_starting_inside_the_spring_gap_opens_when_the_clocks_jump() -> None:
    rules = rules_for("US-NY", {"contact_start": "02:30", "contact_end": "21:00"})
    decision = permission(context(), "phone", local(NY, 2026, 3, 8, 1, 0), rules)
    assert decision.next_allowed_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT


def test_an_eighth_call_attempt_within_seven_days_is_refused_until_the_window_moves() -> None:
    calls = tuple(call(local(NY, 2026, 9, day, 10)) for day in range(1, 8))
    decision = permission(context(recent_calls=calls), "phone", local(NY, 2026, 9, 7, 15))
    assert [r.rule for r in decision.reasons] == ["call_frequency"]
    assert decision.next_allowed_at == local(NY, 2026, 9, 8, 8, 0)
    assert permission(context(recent_calls=calls), "email", local(NY, 2026, 9, 7, 15)).allowed


def test_the_eighth_call_recorded_within_seven_days_is_a_breach() -> None:
    calls = tuple(call(local(NY, 2026, 9, 1, 9 + i)) for i in range(7))
    found = breaches(context(recent_calls=calls), call(local(NY, 2026, 9, 7, 12)))
    assert [b.rule for b in found] == ["call_frequency"]


def test_no_call_within_seven_days_after_a_phone_conversation() -> None:
    ctx = context(last_conversation_at=local(NY, 2026, 9, 1, 10))
    decision = permission(ctx, "phone", local(NY, 2026, 9, 7, 20))
    assert [r.rule for r in decision.reasons] == ["recent_conversation"]
    assert decision.next_allowed_at == local(NY, 2026, 9, 8, 8, 0)
    assert permission(ctx, "sms", local(NY, 2026, 9, 7, 20)).allowed


def test_a_call_after_an_inbound_conversation_is_a_recent_conversation_breach() -> None:
    case = given(timezone=NY, jurisdiction="US-NY")
    case.record_contact(channel="phone", direction="inbound", outcome="right_party",
                        occurred_at=local(NY, 2026, 9, 2, 10))
    found = case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                                occurred_at=local(NY, 2026, 9, 3, 10))
    assert [b.rule for b in found] == ["recent_conversation"]


def test_cn_allows_contact_until_22_and_from_8_shanghai_time() -> None:
    ctx = context(SHANGHAI, "CN-31")
    assert permission(ctx, "phone", local(SHANGHAI, 2026, 9, 2, 21, 59)).allowed
    decision = permission(ctx, "phone", local(SHANGHAI, 2026, 9, 2, 22, 0))
    assert decision.next_allowed_at == datetime(2026, 9, 3, 0, 0, tzinfo=UTC)  # 08:00 CST


def test_cn_six_unanswered_attempts_block_the_rest_of_the_shanghai_day() -> None:
    calls = tuple(call(local(SHANGHAI, 2026, 9, 2, 9 + i)) for i in range(6))
    ctx = context(SHANGHAI, "CN-31", recent_calls=calls)
    decision = permission(ctx, "phone", local(SHANGHAI, 2026, 9, 2, 16))
    assert [r.rule for r in decision.reasons] == ["unanswered_attempts"]
    assert decision.next_allowed_at == local(SHANGHAI, 2026, 9, 3, 8, 0)
    assert [b.rule for b in breaches(ctx, call(local(SHANGHAI, 2026, 9, 2, 16)))] == [
        "unanswered_attempts"
    ]
    # the same six attempts on the previous Shanghai day do not count today
    assert permission(ctx, "phone", local(SHANGHAI, 2026, 9, 3, 8)).allowed


def test_cn_a_fourth_connected_call_in_a_day_is_a_breach() -> None:
    calls = tuple(call(local(SHANGHAI, 2026, 9, 2, 9 + i), "refused") for i in range(3))
    ctx = context(SHANGHAI, "CN-31", recent_calls=calls)
    found = breaches(ctx, call(local(SHANGHAI, 2026, 9, 2, 15), "right_party"))
    assert [b.rule for b in found] == ["connected_calls"]


def test_cn_reaching_a_third_party_is_flagged() -> None:
    found = breaches(context(SHANGHAI, "CN-31"), call(local(SHANGHAI, 2026, 9, 2, 10), "third_party"))
    assert [b.rule for b in found] == ["third_party"]


def test_an_inbound_contact_never_breaches() -> None:
    found = breaches(context(), call(local(NY, 2026, 9, 2, 23), "right_party", "inbound"))
    assert found == []


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"ceased_all": True}, "cease"),
        ({"ceased_channels": ("phone",)}, "channel_opt_out"),
        ({"open_dispute": True}, "dispute_open"),
        ({"closed": True}, "case_closed"),
        ({"holds": (HoldWindow(uuid4(), HoldKind.DECEASED, datetime(2026, 1, 1, tzinfo=UTC)),)}, "hold"),
    ],
)
def test_blocks_only_a_person_can_lift_have_no_next_allowed_time(fields, rule) -> None:
    decision = permission(context(**fields), "phone", local(NY, 2026, 9, 2, 10))
    assert not decision.allowed and decision.next_allowed_at is None
    assert [r.rule for r in decision.reasons] == [rule]


def test_a_hold_with_an_end_lifts_at_its_end_within_hours() -> None:
    hold = HoldWindow(uuid4(), HoldKind.HARDSHIP, local(NY, 2026, 9, 1, 0), local(NY, 2026, 9, 10, 22, 0, 30))
    decision = permission(context(holds=(hold,)), "phone", local(NY, 2026, 9, 2, 10))
    assert decision.next_allowed_at == local(NY, 2026, 9, 11, 8, 0)


def test_reasons_list_every_rule_and_hide_personal_data() -> None:
    case = given(timezone=NY, jurisdiction="US-NY")
    case.open_dispute(reason="not mine", opened_at=at(1))
    case.cease_communication(received_at=at(1), channels=["phone"])
    decision = permission(case, "phone", local(NY, 2026, 9, 3, 22))
    assert {r.rule for r in decision.reasons} == {"dispute_open", "channel_opt_out", "outside_hours"}
    assert not any("Ana" in r.detail or "+1555" in r.detail for r in decision.reasons)


def test_permission_reads_only_recent_history_from_the_aggregate_state() -> None:
    case = given(timezone=NY, jurisdiction="US-NY")
    for day in range(40):
        case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                            occurred_at=at(day, 1))
    assert len(case.compliance_context().recent_calls) <= 11
    assert permission(case, "phone", at(39, 2)).allowed is False


def test_a_contact_reported_late_that_happened_before_a_cease_or_dispute_broke_neither() -> None:
    case = given()
    case.cease_communication(received_at=at(3, 2))  # 11:00 in Chicago, day 3
    case.open_dispute(reason="not mine", opened_at=at(3, 1))
    breaches = case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                                   occurred_at=at(2, 2), agent_id="a-1")
    assert breaches == []  # it happened on day 2, before either was received
    later = case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                                occurred_at=at(3, 4), agent_id="a-1")
    assert {b.rule for b in later} == {"cease", "dispute_open"}
    # a contact to make is judged by the blocks the case has now, whatever instant is asked
    planned = permission(case, "phone", at(2, 2))
    assert {r.rule for r in planned.reasons} == {"cease", "dispute_open"}


def test_a_cease_reported_twice_takes_effect_from_the_earlier_time() -> None:
    case = given()
    case.cease_communication(received_at=at(5), channels=["sms"])
    case.cease_communication(received_at=at(2), channels=["sms"])  # a copy that came in late
    def sms(day: float) -> list[str]:
        return [b.rule for b in case.record_contact(
            channel="sms", direction="outbound", outcome="delivered", occurred_at=at(day, 2),
            agent_id="a-1")]
    assert sms(1) == [] and sms(2) == ["channel_opt_out"]
