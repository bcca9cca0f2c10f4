"""Encoding of aggregate snapshots, whose state has no annotations to decode against.

Aggregate attributes can be any value the domain keeps, so values JSON cannot tell apart are
tagged: ``{"__t": kind, "v": value}`` for UUID, datetime, date, time, timedelta, Decimal, tuple,
set, frozenset, dicts with non-string keys, enums and msgspec Structs / dataclasses (with their
topic). Anything else raises ``TypeError``; the repository then skips the snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic, resolve_topic

_TAG = "__t"
_SCALARS = (str, int, float, bool, type(None))


def tag(value: Any) -> Any:
    """A JSON-safe form of ``value`` that ``untag`` turns back into an equal value."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [tag(item) for item in value]
    if kind is dict:
        if _TAG not in value and all(type(key) is str for key in value):
            return {key: tag(item) for key, item in value.items()}
        return {_TAG: "dict", "v": [[tag(k), tag(v)] for k, v in value.items()]}
    if kind in (tuple, set, frozenset):
        return {_TAG: kind.__name__, "v": [tag(item) for item in value]}
    if isinstance(value, UUID):
        return {_TAG: "uuid", "v": value.hex}
    if isinstance(value, Enum):
        return {_TAG: "enum", "topic": get_topic(kind), "v": tag(value.value)}
    if isinstance(value, dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {_TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {_TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, msgspec.Struct):
        fields = {name: tag(getattr(value, name)) for name in value.__struct_fields__}
        return {_TAG: "object", "topic": get_topic(kind), "v": fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: tag(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {_TAG: "object", "topic": get_topic(kind), "v": fields}
    raise TypeError(f"cannot snapshot a value of type {kind.__qualname__}")


def _untag_object(topic: str, fields: dict[str, Any]) -> Any:
    cls = resolve_topic(topic)
    values = {name: untag(item) for name, item in fields.items()}
    if issubclass(cls, msgspec.Struct):
        return cls(**values)
    instance = object.__new__(cls)
    for name, item in values.items():
        object.__setattr__(instance, name, item)
    return instance


def untag(value: Any) -> Any:
    """Inverse of ``tag``."""
    kind = type(value)
    if kind is list:
        return [untag(item) for item in value]
    if kind is not dict:
        return value
    label = value.get(_TAG)
    if label is None:
        return {key: untag(item) for key, item in value.items()}
    raw = value["v"]
    if label == "dict":
        return {untag(k): untag(v) for k, v in raw}
    if label in ("tuple", "set", "frozenset"):
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[label](untag(i) for i in raw)
    if label == "uuid":
        return UUID(hex=raw)
    if label == "enum":
        return resolve_topic(value["topic"])(untag(raw))
    if label == "object":
        return _untag_object(value["topic"], raw)
    if label == "timedelta":
        return dt.timedelta(days=raw[0], seconds=raw[1], microseconds=raw[2])
    parsers = {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat,
               "time": dt.time.fromisoformat, "decimal": Decimal}
    return parsers[label](raw)


def encode_snapshot_state(snapshot: Snapshot) -> bytes:
    """JSON of a snapshot's timestamp, aggregate topic and tagged aggregate state."""
    document = {"timestamp": snapshot.timestamp.isoformat(), "topic": snapshot.topic,
                "state": tag(snapshot.state)}
    return msgspec.json.encode(document)


def decode_snapshot(originator_id: UUID, originator_version: int, data: bytes) -> Snapshot:
    """The ``Snapshot`` stored as ``data``; ``snapshot.mutate(None)`` rebuilds the aggregate."""
    document = msgspec.json.decode(data)
    snapshot = object.__new__(Snapshot)
    object.__setattr__(snapshot, "__dict__", {
        "originator_id": originator_id,
        "originator_version": originator_version,
        "timestamp": dt.datetime.fromisoformat(document["timestamp"]),
        "topic": document["topic"],
        "state": untag(document["state"]),
    })
    return snapshot
