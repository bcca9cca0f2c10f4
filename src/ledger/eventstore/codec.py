"""Event codec: the eventsourcing ``Mapper`` contract with msgspec JSON instead of its transcoder.

Stored state is the JSON object of the event's attributes without ``originator_id`` and
``originator_version`` (plus ``class_version`` when above 1) — the same shape the library's
Mapper writes, so its tools can read our rows. Decoding uses one msgspec decoder per event class,
typed from the class's annotations, so UUID, datetime, date, StrEnum, tuples and nested msgspec
Structs come back as the types they were. When the stored ``class_version`` is older, the state
is decoded as plain JSON, passed through the class's ``upcast_vN_vN+1`` static methods (which
see JSON values: strings for UUIDs and times), then converted to the annotated types.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from collections.abc import Collection, Mapping
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.utils import get_topic, resolve_topic

from ledger.eventstore.errors import EventDecodingError
from ledger.eventstore.records import NewEvent

_logger = logging.getLogger(__name__)
_IDENTITY_FIELDS = frozenset({"originator_id", "originator_version"})
# Domain events are frozen dataclasses: built without __init__, their __dict__ set directly.
_new_object = object.__new__
_set_attribute = object.__setattr__


class Compressor(Protocol):
    """The eventsourcing ``Compressor`` interface."""

    def compress(self, data: bytes) -> bytes: ...
    def decompress(self, data: bytes) -> bytes: ...


class Cipher(Protocol):
    """The eventsourcing ``Cipher`` interface."""

    def encrypt(self, plaintext: bytes) -> bytes: ...
    def decrypt(self, ciphertext: bytes) -> bytes: ...


class StreamCipher(Protocol):
    """Per-stream encryption of the state of some topics (crypto-shredding, ``ledger.privacy``).

    The repository seals the state of events (and snapshots) whose topic is in ``topics``
    before they are hashed and stored, so the chain covers the ciphertext and destroying a
    stream's key leaves it verifiable; it opens them before decoding. Keys are opaque here and
    fetched once per load or save for all the streams involved.
    """

    topics: frozenset[str]

    async def keys_for_writing(self, streams: Mapping[UUID, str]) -> Mapping[UUID, Any]:
        """Keys of new streams (id → tenant), created if missing."""
        ...

    async def keys(self, originator_ids: Collection[UUID]) -> Mapping[UUID, Any]:
        """Keys of existing streams; None (or absent) for a stream whose key is gone."""
        ...

    def seal(self, originator_id: UUID, tenant_id: str, topic: str, state: bytes,
             key: Any) -> bytes: ...

    def open(self, originator_id: UUID, tenant_id: str, topic: str, state: bytes,
             key: Any) -> bytes:
        """The state with its sealed parts readable, or marked unreadable when ``key`` is None."""
        ...


class _ClassDecoder:
    """Decodes the stored state of one event class into the attribute dict of an instance."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.class_version: int = getattr(cls, "class_version", 1)
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable annotations: decode untyped rather than not at all
            _logger.warning("untyped decoding for %s: annotations do not resolve", cls)
            hints = {}
        fields: dict[str, Any] = {}
        for field in dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ():
            if field.name not in _IDENTITY_FIELDS:
                fields[field.name] = hints.get(field.name, Any)
        if self.class_version > 1:
            fields["class_version"] = typing.NotRequired[int]
        # A TypedDict decodes straight into the dict that becomes the event's __dict__.
        self.state_type: Any = typing.TypedDict(f"{cls.__name__}StoredState", fields)  # type: ignore[operator]
        self.decoder = msgspec.json.Decoder(self.state_type)

    def upcast(self, data: bytes) -> dict[str, Any]:
        state = msgspec.json.decode(data)
        from_version = state.pop("class_version", 1)
        while from_version < self.class_version:
            getattr(self.cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        typed: dict[str, Any] = msgspec.convert(state, self.state_type)
        return typed

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            state: dict[str, Any] = self.decoder.decode(data)
        except msgspec.ValidationError:
            return self.upcast(data)
        if self.class_version > 1 and state.pop("class_version", 1) != self.class_version:
            return self.upcast(data)
        return state


class EventCodec:
    """Converts domain events to ``NewEvent`` rows and stored rows back to domain events."""

    def __init__(self, *, compressor: Compressor | None = None,
                 cipher: Cipher | None = None) -> None:
        self.compressor = compressor
        self.cipher = cipher
        self._encoder = msgspec.json.Encoder()
        self._decoders: dict[str, _ClassDecoder] = {}
        self._topics: dict[type, str] = {}

    def encode_state(self, state: dict[str, Any]) -> bytes:
        """JSON bytes of a state dict, then compression and encryption if configured."""
        data = self._encoder.encode(state)
        if self.compressor is not None:
            data = self.compressor.compress(data)
        if self.cipher is not None:
            data = self.cipher.encrypt(data)
        return data

    def encode(self, domain_event: Any) -> NewEvent:
        """The ``NewEvent`` for a domain event (topic from its class)."""
        cls = type(domain_event)
        topic = self._topics.get(cls)
        if topic is None:
            topic = self._topics[cls] = get_topic(cls)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return NewEvent(originator_id, originator_version, topic, self.encode_state(state))

    def _plain(self, data: bytes) -> bytes:
        if self.cipher is not None:
            data = self.cipher.decrypt(data)
        if self.compressor is not None:
            data = self.compressor.decompress(data)
        return data

    def class_decoder(self, topic: str) -> _ClassDecoder:
        """The cached decoder for a topic's class."""
        decoder = self._decoders.get(topic)
        if decoder is None:
            decoder = self._decoders[topic] = _ClassDecoder(resolve_topic(topic))
        return decoder

    def decode(self, originator_id: UUID, originator_version: int, topic: str,
               state: bytes) -> Any:
        """The domain event stored as (id, version, topic, state)."""
        try:
            decoder = self._decoders.get(topic) or self.class_decoder(topic)
            if self.cipher is not None or self.compressor is not None:
                state = self._plain(state)
            attributes = decoder.decode(state)
        except Exception as error:
            raise EventDecodingError(
                f"cannot decode {topic} {originator_id} v{originator_version}: {error}"
            ) from error
        attributes["originator_id"] = originator_id
        attributes["originator_version"] = originator_version
        domain_event = _new_object(decoder.cls)
        _set_attribute(domain_event, "__dict__", attributes)
        return domain_event

    def decode_row(self, row: Any) -> Any:
        """The domain event of a ``StoredEventRow`` (or anything with those attributes).

        The common case (a known topic at class version 1, stored as plain JSON) is done here
        in one call; it is most of the cost of reading the feed. Everything else, including
        errors, goes through ``decode``.
        """
        decoder = self._decoders.get(row.topic)
        if (decoder is None or decoder.class_version != 1 or self.cipher is not None
                or self.compressor is not None):
            return self.decode(row.originator_id, row.originator_version, row.topic, row.state)
        try:
            attributes = decoder.decoder.decode(row.state)
        except Exception:  # an older shape to upcast, or an error to report: the slow path
            return self.decode(row.originator_id, row.originator_version, row.topic, row.state)
        attributes["originator_id"] = row.originator_id
        attributes["originator_version"] = row.originator_version
        domain_event = _new_object(decoder.cls)
        _set_attribute(domain_event, "__dict__", attributes)
        return domain_event
