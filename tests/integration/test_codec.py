"""The msgspec codec honours the eventsourcing Mapper contract."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import get_topic
from store_model import Account, open_account

from ledger.eventstore import EventCodec, NewEvent


@dataclass(frozen=True)
class _Point:
    x: int
    y: int


def test_every_supported_attribute_type_round_trips_exactly() -> None:
    account = open_account()
    account.deposit(500, datetime(2026, 9, 2, tzinfo=UTC), uuid4())
    account.rename("Ana Li", "married")
    codec = EventCodec()
    for original in account.collect_events():
        new_event = codec.encode(original)
        decoded = codec.decode(new_event.originator_id, new_event.originator_version,
                               new_event.topic, new_event.state)
        assert type(decoded) is type(original)
        assert vars(decoded) == vars(original)
        assert {k: type(v) for k, v in vars(decoded).items()} == {
            k: type(v) for k, v in vars(original).items()}


def test_stored_state_has_the_eventsourcing_mapper_shape() -> None:
    account = open_account()
    account.rename("Bo", "typo")
    created, renamed = account.collect_events()
    state = msgspec.json.decode(EventCodec().encode(renamed).state)
    assert "originator_id" not in state and "originator_version" not in state
    assert state["class_version"] == 2 and state["reason"] == "typo"
    library_view = msgspec.json.decode(EventCodec().encode(created).state)
    assert library_view["originator_topic"] == get_topic(Account)


def test_an_old_class_version_is_upcast_on_read() -> None:
    account_id = uuid4()
    v1_state = msgspec.json.encode({"timestamp": "2026-09-01T10:00:00+00:00", "owner": "Cy"})
    decoded = EventCodec().decode(account_id, 2, get_topic(Account.Renamed), v1_state)
    assert decoded.reason == "unknown (recorded before reasons)"
    assert decoded.owner == "Cy"
    assert decoded.timestamp == datetime(2026, 9, 1, 10, tzinfo=UTC)
    assert "class_version" not in vars(decoded)


def test_the_library_mapper_can_read_what_our_codec_wrote() -> None:
    account = open_account()
    (created,) = account.collect_events()
    new_event: NewEvent = EventCodec().encode(created)
    mapper: Mapper = Mapper(transcoder=JSONTranscoder())
    stored = StoredEvent(new_event.originator_id, new_event.originator_version,
                         new_event.topic, new_event.state)
    decoded = mapper.to_domain_event(stored)
    assert decoded.originator_id == created.originator_id
    assert decoded.owner == "Ana"


class _Zlib:
    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data)

    def decompress(self, data: bytes) -> bytes:
        return zlib.decompress(data)


class _Xor:
    def encrypt(self, plaintext: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self.encrypt(ciphertext)


def test_compression_and_cipher_hooks_wrap_the_state() -> None:
    codec = EventCodec(compressor=_Zlib(), cipher=_Xor())
    (created,) = open_account().collect_events()
    new_event = codec.encode(created)
    assert b"Ana" not in new_event.state
    decoded = codec.decode(new_event.originator_id, 1, new_event.topic, new_event.state)
    assert vars(decoded) == vars(created)


def test_snapshot_state_round_trips_values_json_cannot_tell_apart() -> None:
    from datetime import date, time, timedelta
    from decimal import Decimal

    from store_model import Contact, Level, Money

    from ledger.eventstore.snapshot_codec import tag, untag

    state = {
        "ids": {uuid4(): Money(1, "USD")}, "tuple": (1, "a"), "set": {1, 2},
        "frozen": frozenset({"x"}), "level": Level.LOW, "when": datetime(2026, 1, 2, tzinfo=UTC),
        "day": date(2026, 1, 2), "clock": time(9, 30), "span": timedelta(days=2, seconds=3),
        "amount": Decimal("1.10"), "contact": Contact(("+1",), None), "nested": [{"__t": 1}],
        "point": _Point(1, 2), "none": None,
    }
    restored = untag(msgspec.json.decode(msgspec.json.encode(tag(state))))
    assert restored == state
    assert {k: type(v) for k, v in restored.items()} == {k: type(v) for k, v in state.items()}


def test_decoding_a_row_gives_what_decoding_its_columns_gives_including_upcasts() -> None:
    account = open_account()
    account.deposit(500, datetime(2026, 9, 2, tzinfo=UTC), uuid4())
    account.rename("Ana Li", "married")
    codec = EventCodec()
    rows = [codec.encode(event) for event in account.collect_events()]
    old_rename = NewEvent(rows[-1].originator_id, 4, get_topic(Account.Renamed),
                          msgspec.json.encode({"timestamp": "2026-09-01T10:00:00+00:00",
                                               "owner": "Cy"}))
    for _ in range(2):  # the first pass meets each topic for the first time, the second not
        for row in [*rows, old_rename]:
            by_row = codec.decode_row(row)
            by_columns = codec.decode(row.originator_id, row.originator_version, row.topic,
                                      row.state)
            assert type(by_row) is type(by_columns)
            assert vars(by_row) == vars(by_columns)
    assert codec.decode_row(old_rename).reason == "unknown (recorded before reasons)"


def test_a_row_that_does_not_decode_names_its_event() -> None:
    from ledger.eventstore import EventDecodingError

    codec = EventCodec()
    (created,) = open_account().collect_events()
    good = codec.encode(created)
    codec.decode_row(good)
    broken = NewEvent(good.originator_id, 1, good.topic, b'{"owner": 5}')
    with pytest.raises(EventDecodingError, match=str(good.originator_id)):
        codec.decode_row(broken)
