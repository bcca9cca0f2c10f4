"""Events: names, topics, msgspec encoding by annotation, business-time timestamps."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date, datetime
from uuid import UUID

import msgspec
import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from ledger.domain.case import Case
from ledger.domain.values import Instalment

from case_builders import at, pay, place, replay

ALLOWED_SCALARS = (str, int, bool, type(None), UUID, datetime, date)
EVENT_CLASSES = [
    value for name, value in vars(Case).items()
    if isinstance(value, type) and issubclass(value, CanMutateAggregate)
    and name not in ("Event", "Created")
]
LIBRARY_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def assert_encodable(annotation: object) -> None:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list):
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                assert_encodable(arg)
    elif origin is dict:
        key, value = typing.get_args(annotation)
        assert key is str
        assert_encodable(value)
    elif isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        assert annotation.__struct_config__.frozen
        for hint in typing.get_type_hints(annotation).values():
            assert_encodable(hint)
    else:
        assert annotation in ALLOWED_SCALARS or (
            isinstance(annotation, type) and issubclass(annotation, enum.StrEnum)
        ), annotation


def test_every_event_listed_in_the_design_exists_with_a_past_tense_name() -> None:
    names = {cls.__name__ for cls in EVENT_CLASSES}
    assert {
        "Placed", "ContactRecorded", "PromiseMade", "PromiseKept", "PromiseBroken",
        "PaymentReceived", "PaymentReversed", "ArrangementAgreed", "ArrangementCompleted",
        "ArrangementDefaulted", "DisputeOpened", "DisputeResolved", "CommunicationCeased",
        "HoldPlaced", "HoldReleased", "Assigned", "Escalated", "BalanceAdjusted", "NoteAdded",
        "Closed", "Reopened", "PersonalDataErased",
    } <= names
    assert not any(name.endswith("Event") for name in names - {"Event"})


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_event_attributes_use_only_codec_friendly_types(event_class: type) -> None:
    assert get_topic(event_class) == f"ledger.domain.case:Case.{event_class.__name__}"
    assert getattr(event_class, "class_version", 1) == 1
    hints = typing.get_type_hints(event_class)
    for field in dataclasses.fields(event_class):
        if field.name not in LIBRARY_FIELDS:  # the store encodes these columns itself
            assert_encodable(hints[field.name])


def busy_case() -> Case:
    case = place()
    case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                        occurred_at=at(0, 1), agent_id="a", note="n", duration_seconds=60)
    case.make_promise(amount=1000, due_date=date(2026, 9, 10), made_at=at(0, 1))
    pay("P1", 1000, at(1))(case)
    case.reverse_payment(external_id="P1", reason="r", reversed_at=at(2))
    case.agree_arrangement(kind="installments", instalments=[Instalment(date(2026, 9, 20), 500)],
                           waive_interest=True, agreed_at=at(3))
    dispute_id = case.open_dispute(reason="x", opened_at=at(4))
    case.resolve_dispute(dispute_id=dispute_id, outcome="upheld", resolved_at=at(5), adjustment=10)
    case.cease_communication(received_at=at(5), channels=["sms"])
    hold_id = case.place_hold(kind="hardship", starts_at=at(6), until=at(9))
    case.release_hold(hold_id=hold_id, released_at=at(7))
    case.assign(agent_id="agent-7", assigned_at=at(7))
    case.escalate(reason="legal", escalated_at=at(8))
    case.adjust_balance(kind="fee", amount=10, reason="fee", occurred_at=at(8))
    case.add_note(text="called", occurred_at=at(8))
    case.mark_overdue(at(30))
    case.close(reason="recalled", closed_at=at(31))
    case.reopen(reason="back", reopened_at=at(32))
    case.erase_personal_data(reason="erasure", erased_at=at(33))
    return case


def test_every_event_survives_a_msgspec_round_trip_decoded_by_annotation() -> None:
    case = busy_case()
    events = case.collect_events()
    decoded = []
    for event in events:
        payload = msgspec.json.encode(event.__dict__)
        fields = msgspec.json.decode(payload)
        hints = typing.get_type_hints(type(event)) | {
            "originator_id": UUID, "originator_version": int, "timestamp": datetime,
            "originator_topic": str,
        }
        typed = {name: msgspec.convert(value, hints[name]) for name, value in fields.items()}
        decoded.append(type(event)(**typed))
    assert decoded == list(events)
    assert replay(decoded) == case


def test_a_case_rebuilt_from_all_its_events_equals_the_original() -> None:
    case = place()
    pay("P1", 1000, at(1))(case)
    case.open_dispute(reason="x", opened_at=at(2))
    events = case.collect_events()
    assert replay(events) == case
    assert [e.timestamp for e in events] == [at(0), at(1), at(2)]
