"""A rebuild derives rm_audit in SQL (``audit.DERIVE_SQL``); the rows must equal the ones the
live projection builds in Python, for every case event type (sealed and erased placements
included) and for other streams' events, with arbitrary values and time zones."""

from __future__ import annotations

import dataclasses
import enum
import random
import types
import typing
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from ledger.domain.case import Case
from ledger.privacy.sealing import PLACED_TOPIC, DebtorCipher
from ledger.projections.audit import AMOUNTS, DERIVED_AMOUNTS, AuditProjection
from ledger.projections import audit, rebuild_load
from ledger.projections.rebuild import rebuild

from projection_support import project_all

EVENT_CLASSES = [value for name, value in vars(Case).items()
                 if isinstance(value, type) and issubclass(value, CanMutateAggregate)
                 and name not in ("Event", "Created")]
COLUMNS = ["originator_id", "originator_version", "topic", "state", "recorded_at", "tenant_id",
           "actor", "correlation_id", "chain_hash"]
IDENTITY = {"originator_id", "originator_version"}


def _value(annotation: Any, rng: random.Random) -> Any:
    """An arbitrary value of an event attribute's annotated type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        values = [option for option in options if option is not type(None)]
        # Mostly a value (every amount rule gets exercised in a few rounds), sometimes None.
        if len(values) < len(options) and rng.random() < 0.2:
            return None
        return _value(rng.choice(values), rng)
    if origin in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return tuple(_value(args[0], rng) for _ in range(rng.randint(0, 3)))
    if origin is dict:
        return {f"k{i}": _value(typing.get_args(annotation)[1], rng) for i in range(rng.randint(0, 2))}
    if annotation is type(None):
        return None
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        hints = typing.get_type_hints(annotation)
        return annotation(**{name: _value(hint, rng) for name, hint in hints.items()})
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return rng.choice(list(annotation))
    if annotation is bool:
        return rng.random() < 0.5
    if annotation is int:
        return rng.randint(-10**9, 10**12)
    if annotation is str:
        return f"s{rng.randint(0, 99)}"
    if annotation is UUID:
        return uuid.UUID(int=rng.getrandbits(128))
    if annotation is datetime:
        zone = timezone(timedelta(minutes=rng.choice([0, 330, -300, 840, -720])))
        return datetime(2020, 1, 1, tzinfo=UTC).astimezone(zone) + timedelta(
            seconds=rng.randint(0, 10**8), microseconds=rng.randint(0, 999_999))
    if annotation is date:
        return date(2020, 1, 1) + timedelta(days=rng.randint(0, 3000))
    raise AssertionError(f"no generator for {annotation!r}")



def _state(cls: type, rng: random.Random) -> bytes:
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls) if field.name not in IDENTITY]
    if rng.random() < 0.3:  # not the codec's order: ``timestamp`` is not the first key
        rng.shuffle(names)
    return msgspec.json.encode({name: _value(hints[name], rng) for name in names})


def _rows(tenant: str, rng: random.Random) -> list[tuple[Any, ...]]:
    cipher = DebtorCipher(None)  # type: ignore[arg-type]  # sealing with a throwaway key
    recorded = datetime(2026, 9, 1, tzinfo=UTC)
    rows = []
    for round_ in range(4):
        for cls in EVENT_CLASSES:
            case_id = uuid.UUID(int=rng.getrandbits(128))
            topic = get_topic(cls)
            state = _state(cls, rng)
            if topic == PLACED_TOPIC:  # sealed under a key nobody keeps: an erased case
                state = cipher.seal(case_id, tenant, topic, state, None)
            rows.append((case_id, 1, topic, state, recorded + timedelta(seconds=len(rows)),
                         tenant, rng.choice([None, "user:ann", "system:scheduler"]),
                         rng.choice([None, uuid.UUID(int=rng.getrandbits(128))]), bytes(32)))
        # Another stream's event: record time, no amount, whatever its state holds.
        rows.append((uuid.uuid4(), 1, "ledger.domain.strategy:Strategy.VersionSaved",
                     b'{"timestamp": "2001-01-01T00:00:00Z", "amount": 5}', recorded, tenant,
                     "user:bob", None, bytes(32)))
    return rows


async def _audit(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch("SELECT * FROM rm_audit ORDER BY tenant_id, seq")]


def test_the_sql_derivation_gives_amounts_to_exactly_the_types_python_does() -> None:
    assert DERIVED_AMOUNTS == set(AMOUNTS)
    assert set(AMOUNTS) <= {cls.__name__ for cls in EVENT_CLASSES}


HEADS = {
    "the whole log derived ahead": None,
    "ahead up to the middle of a page, pages after it": (
        "SELECT transaction_id, notification_id FROM stored_events "
        "ORDER BY transaction_id, notification_id OFFSET 40 LIMIT 1"),
    "nothing ahead, every page derived": "SELECT 1::text::xid8, 1::int8 WHERE false",
}


@pytest.mark.parametrize("head", HEADS.values(), ids=HEADS.keys())
async def test_audit_rows_derived_in_sql_equal_the_ones_built_in_python(own_pool, tenant, head,
                                                                         monkeypatch):
    monkeypatch.setattr(audit, "AHEAD_CHUNK", 7)  # several chunks ahead
    if head is not None:  # as if more events had come in after the rebuild started
        monkeypatch.setattr(rebuild_load, "HEAD_SQL", head)
    await own_pool.execute("DELETE FROM rm_audit")
    await own_pool.execute("DELETE FROM projection_positions WHERE name = 'audit'")
    rng = random.Random(f"17 {head}")  # another log per case of the test (one database)
    rows = _rows(tenant, rng)
    # Several transactions, so pages span transaction ids.
    for first in range(0, len(rows), 25):
        await own_pool.copy_records_to_table("stored_events", records=rows[first:first + 25],
                                             columns=COLUMNS)
    await project_all(own_pool, [AuditProjection()], batch_size=13)
    live = await _audit(own_pool)
    assert len(live) == await own_pool.fetchval("SELECT count(*) FROM stored_events")
    typed = {row[4] for row in live if row[8] is not None}
    assert DERIVED_AMOUNTS <= typed  # every amount rule was exercised
    await rebuild(own_pool, [AuditProjection()], batch_size=11)
    assert await _audit(own_pool) == live
