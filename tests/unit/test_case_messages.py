"""Messages on the Case: permission decides queued, scheduled or refused; reports and opt-outs
are recorded once; the itemisation adds up to the balance; replay rebuilds the same state."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st

from case_builders import PLACED_AT, at, given, place, replay, then_events
from ledger.domain.errors import InvalidRequest
from ledger.domain.messaging.case_messages import ContactNotAllowed
from ledger.domain.messaging.itemization import Movement, itemize
from ledger.domain.messaging.validation_period import validation_period_ends

NOON_CHICAGO = at(hours=3)  # 12:00 local
NIGHT_CHICAGO = at(hours=14)  # 23:00 local


def queue(case, now: datetime, channel: str = "sms", **extra):  # type: ignore[no-untyped-def]
    return case.queue_message(channel=channel, template="reminder", template_version=1,
                              content="m1:sealed", has_address=True, now=now, **extra)


def test_in_hours_a_message_is_queued_for_now():
    case = given()
    queued = queue(case, NOON_CHICAGO)
    assert (str(queued.status), queued.send_at) == ("queued", NOON_CHICAGO)
    assert then_events(case) == ["MessageQueued"]


def test_outside_hours_it_is_scheduled_for_eight_the_next_morning():
    case = given()
    queued = queue(case, NIGHT_CHICAGO)
    assert str(queued.status) == "scheduled"
    assert queued.send_at == datetime(2026, 9, 2, 13, 0, tzinfo=PLACED_AT.tzinfo)  # 08:00 CDT


def test_letters_are_not_bound_to_hours():
    assert str(queue(given(), NIGHT_CHICAGO, channel="letter").status) == "queued"


def test_cease_refuses_with_the_reason_and_records_nothing():
    case = given(lambda c: c.cease_communication(received_at=at(hours=1)))
    with pytest.raises(ContactNotAllowed) as refused:
        queue(case, NOON_CHICAGO)
    assert [r.rule for r in refused.value.reasons] == ["cease"]
    assert then_events(case) == []


def test_no_address_is_a_reason_too():
    case = given()
    with pytest.raises(ContactNotAllowed) as refused:
        case.queue_message(channel="email", template="t", template_version=1, content="",
                           has_address=False, now=NOON_CHICAGO)
    assert [r.rule for r in refused.value.reasons] == ["no_address"]


def test_an_opt_out_blocks_only_its_channel_and_is_recorded_once():
    case = given()
    assert case.opt_out(channel="sms", received_at=at(hours=1), source="inbound_sms")
    assert not case.opt_out(channel="sms", received_at=at(hours=2), source="inbound_sms")
    assert then_events(case) == ["ChannelOptedOut"]
    with pytest.raises(ContactNotAllowed) as refused:
        queue(case, NOON_CHICAGO)
    assert [r.rule for r in refused.value.reasons] == ["opted_out"]
    assert str(queue(case, NOON_CHICAGO, channel="email").status) == "queued"


def test_delivery_counts_as_a_contact_once_and_replay_agrees():
    case = place()
    queued = queue(case, NOON_CHICAGO)
    assert case.record_message_sent(message_id=queued.message_id, attempts=2,
                                    sent_at=NOON_CHICAGO)
    assert not case.record_message_sent(message_id=queued.message_id, attempts=3,
                                        sent_at=NOON_CHICAGO)
    report = dict(message_id=queued.message_id, status="delivered",
                  at=NOON_CHICAGO + timedelta(minutes=1))
    assert case.record_delivery(**report, now=NOON_CHICAGO + timedelta(hours=1))
    assert not case.record_delivery(**report, now=NOON_CHICAGO + timedelta(hours=1))
    events = case.collect_events()
    assert [type(e).__name__ for e in events][-4:] == [
        "MessageQueued", "MessageSent", "MessageDelivered", "ContactRecorded"]
    again = replay(events)
    assert again.messages == case.messages
    assert str(again.message(queued.message_id).status) == "delivered"
    assert again.last_contact_at == NOON_CHICAGO + timedelta(minutes=1)


def test_a_report_dated_before_the_message_was_queued_is_an_invalid_request():
    # Found by a black-box audit: a delivery dated weeks before the message backdated an
    # outbound contact into metrics and compliance. A provider's clock may lag ours a little.
    case = place()
    queued = queue(case, NOON_CHICAGO)
    with pytest.raises(InvalidRequest) as refused:
        case.record_delivery(message_id=queued.message_id, status="delivered",
                             at=NOON_CHICAGO - timedelta(days=20), now=NOON_CHICAGO)
    assert refused.value.field == "at"
    assert case.record_delivery(message_id=queued.message_id, status="delivered",
                                at=NOON_CHICAGO - timedelta(minutes=4), now=NOON_CHICAGO)


def test_a_sending_decision_sees_facts_recorded_after_queueing():
    case = given()
    queued = queue(case, NOON_CHICAGO)
    case.open_dispute(reason="not mine", opened_at=NOON_CHICAGO)
    decision = case.sending_decision(queued.message_id, NOON_CHICAGO + timedelta(minutes=1))
    assert not decision.send and decision.retry_at is None
    assert [r.rule for r in decision.reasons] == ["dispute_open"]


def test_a_notice_more_than_five_days_after_the_first_conversation_is_late():
    case = given(lambda c: c.record_contact(channel="phone", direction="outbound",
                                            outcome="right_party", occurred_at=at(hours=2)))
    item = itemize(case.placed_balance, [], at(), date(2026, 9, 1),
                   validation_period_ends(date(2026, 9, 10)))
    queue(case, at(days=9), channel="letter", send_from=at(days=8), itemization=item)
    assert then_events(case) == ["MessageQueued", "ComplianceBreachFound"]
    assert not case.flag_late_validation_notice(at(days=20))


def test_a_notice_on_time_is_no_breach_and_the_sweep_finds_nothing():
    case = given(lambda c: c.record_contact(channel="phone", direction="outbound",
                                            outcome="right_party", occurred_at=at(hours=2)))
    item = itemize(case.placed_balance, [], at(), date(2026, 9, 1),
                   validation_period_ends(date(2026, 9, 3)))
    queue(case, at(days=3), channel="letter", send_from=at(days=2), itemization=item)
    assert then_events(case) == ["MessageQueued"]
    assert not case.flag_late_validation_notice(at(days=20))


kinds = st.sampled_from(["payment", "reversal", "interest", "fee", "waiver"])


@hypothesis_given(st.lists(st.tuples(st.integers(0, 40), kinds, st.integers(1, 10_000)),
                           max_size=30), st.integers(0, 40))
def test_the_itemisation_always_adds_up_to_the_balance(moves, cutoff_day):
    signed = {"payment": -1, "reversal": 1, "interest": 1, "fee": 1, "waiver": -1}
    movements = [Movement(at(days=d), kind, signed[kind] * amount) for d, kind, amount in moves]
    placed = 500_000
    item = itemize(placed, movements, at(days=cutoff_day), date(2026, 9, 1), date(2026, 10, 1))
    balance = placed + sum(m.change for m in movements)
    assert item.current_amount == balance
    assert item.itemization_amount == placed + sum(
        m.change for m in movements if m.at <= at(days=cutoff_day))
