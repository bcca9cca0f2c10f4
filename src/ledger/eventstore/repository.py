"""Load and save eventsourcing aggregates through the event store.

The repository remembers, for every aggregate object it loaded or saved, the version and chain
hash of the newest stored event, so a save hashes its new events against the right head in one
round trip. The append statement re-checks that head in the database, so a stale object can
never fork a chain: the whole append fails with ``ConcurrencyConflict`` instead.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.eventstore.codec import EventCodec, StreamCipher
from ledger.eventstore.errors import AggregateNotFound, UnsealedWrite
from ledger.eventstore.records import IdempotencyRecord, NewEvent, StoredEventRow
from ledger.eventstore.snapshot_codec import decode_snapshot
from ledger.eventstore.snapshots import (
    LOAD_MANY_SQL,
    LOAD_SQL,
    LOAD_UNTIL_SQL,
    SNAPSHOT_TOPIC,
    write_snapshot,
)
from ledger.eventstore.store import ChainHead, EventStore

_logger = logging.getLogger("ledger.eventstore")

_MAX_VERSION = 2**63 - 1
REFRESH_MANY_SQL = """
    SELECT s.originator_id, s.originator_version, s.topic, s.state, s.chain_hash, s.recorded_at,
           s.tenant_id
    FROM stored_events s JOIN unnest($1::uuid[], $2::int8[]) AS k(id, version)
      ON s.originator_id = k.id AND s.originator_version > k.version
    ORDER BY s.originator_id, s.originator_version
"""


class Repository:
    """Aggregates by id, with snapshots every ``snapshot_interval`` events (None: never)."""

    def __init__(self, store: EventStore, codec: EventCodec | None = None, *,
                 snapshot_interval: int | None = 100,
                 cipher: StreamCipher | None = None) -> None:
        self.store = store
        self.codec = codec or EventCodec()
        self.snapshot_interval = snapshot_interval
        self.cipher = cipher
        self._heads: dict[int, tuple[weakref.ref[Any], ChainHead]] = {}

    def _remember(self, aggregate: Any, head: ChainHead) -> None:
        key = id(aggregate)
        self._heads[key] = (weakref.ref(aggregate, lambda _: self._heads.pop(key, None)), head)

    def known_head(self, aggregate: Any) -> ChainHead | None:
        """The stored head this object was loaded or last saved at, if remembered."""
        entry = self._heads.get(id(aggregate))
        if entry is None or entry[0]() is not aggregate:
            return None
        return entry[1]

    async def _keys(self, rows: Sequence[Any]) -> Mapping[UUID, Any]:
        """Keys of the streams whose loaded rows hold sealed state (usually from the cache)."""
        cipher = self.cipher
        if cipher is None:
            return {}
        ids = {row[1] for row in rows if (SNAPSHOT_TOPIC if row[0] else row[3]) in cipher.topics}
        return await cipher.keys(ids) if ids else {}

    def _replay(self, rows: Sequence[Any], until_recorded_at: datetime | None,
                tenant_id: str | None, keys: Mapping[UUID, Any] | None = None) -> Any:
        aggregate: Any = None
        head: ChainHead | None = None
        cipher = self.cipher
        for (is_snapshot, originator_id, version, topic, state, chain_hash, recorded_at,
             row_tenant) in rows:
            if tenant_id is not None and row_tenant != tenant_id:
                return None  # another tenant's stream does not exist for this caller
            if cipher is not None and (SNAPSHOT_TOPIC if is_snapshot else topic) in cipher.topics:
                state = cipher.open(originator_id, row_tenant,
                                    SNAPSHOT_TOPIC if is_snapshot else topic, state,
                                    (keys or {}).get(originator_id))
            if is_snapshot:
                aggregate = decode_snapshot(originator_id, version, state).mutate(None)
            else:
                if until_recorded_at is not None and recorded_at > until_recorded_at:
                    break  # only the prefix recorded within the bound counts
                if aggregate is not None and version != aggregate.version + 1:
                    break
                event = self.codec.decode(originator_id, version, topic, state)
                aggregate = event.mutate(aggregate)
            head = ChainHead(version, chain_hash)
        if aggregate is not None and head is not None:
            self._remember(aggregate, head)
        return aggregate

    async def load(self, aggregate_id: UUID, *, tenant_id: str | None = None,
                   until_version: int | None = None,
                   until_recorded_at: datetime | None = None) -> Any:
        """The aggregate, optionally as of a version and/or as known at a record time.

        With ``tenant_id`` another tenant's aggregate is not found. Raises ``AggregateNotFound``.
        """
        bound = _MAX_VERSION if until_version is None else until_version
        if until_recorded_at is None:
            rows = await self.store.fetch(LOAD_SQL, aggregate_id, bound)
        else:
            rows = await self.store.fetch(LOAD_UNTIL_SQL, aggregate_id, bound, until_recorded_at)
        aggregate = self._replay(rows, until_recorded_at, tenant_id, await self._keys(rows))
        if aggregate is None:
            raise AggregateNotFound(str(aggregate_id))
        return aggregate

    async def load_many(self, aggregate_ids: Iterable[UUID], *,
                        tenant_id: str | None = None) -> dict[UUID, Any]:
        """Current state of many aggregates in one round trip; unknown ids are absent."""
        rows = await self.store.fetch(LOAD_MANY_SQL, list(aggregate_ids))
        keys = await self._keys(rows)
        loaded: dict[UUID, Any] = {}
        start = 0
        for index in range(1, len(rows) + 1):
            if index == len(rows) or rows[index][1] != rows[start][1]:
                aggregate = self._replay(rows[start:index], None, tenant_id, keys)
                if aggregate is not None:
                    loaded[rows[start][1]] = aggregate
                start = index
        return loaded

    async def save(self, *aggregates: Any, tenant_id: str, actor: str | None = None,
                   correlation_id: UUID | None = None, causation_id: UUID | None = None,
                   idempotency: IdempotencyRecord | None = None,
                   connection: Any = None) -> list[StoredEventRow]:
        """Append the pending events of ``aggregates`` atomically; return the stored rows.

        Raises ``ConcurrencyConflict`` (reload and retry) or ``IdempotencyKeyConflict``; on
        either the pending events stay on the aggregates. Snapshots are written afterwards.
        With ``connection`` (inside the caller's transaction, e.g. to write an outbox row with
        the events) the append and any snapshot run on it; the caller commits, then calls
        ``store.notify_appended()``.
        """
        self._refuse_unsealed(aggregates)
        pending = [(aggregate, list(aggregate.pending_events)) for aggregate in aggregates]
        new_events = [self.codec.encode(e) for _, events in pending for e in events]
        if not new_events:
            return []
        if self.cipher is not None:
            new_events = await self._seal(new_events, tenant_id)
        heads = {}
        for aggregate, events in pending:
            head = self.known_head(aggregate)
            if events and head is not None and head.originator_version == events[0].originator_version - 1:
                heads[aggregate.id] = head
        rows = await self.store.append(
            new_events, tenant_id=tenant_id, actor=actor, correlation_id=correlation_id,
            causation_id=causation_id, heads=heads, idempotency=idempotency,
            connection=connection)
        last_rows = {row.originator_id: row for row in rows}
        for aggregate, events in pending:
            if not events:
                continue
            aggregate.collect_events()
            last = last_rows[aggregate.id]
            self._remember(aggregate, ChainHead(last.originator_version, last.chain_hash))
            interval = self.snapshot_interval
            if interval and last.originator_version // interval > (
                    events[0].originator_version - 1) // interval:
                await self._snapshot_after_commit(
                    connection.fetch if connection is not None else self.store.fetch,
                    aggregate, last)
        return rows

    async def _snapshot_after_commit(self, fetch: Any, aggregate: Any,
                                     last: StoredEventRow) -> None:
        """The events are stored: nothing from here on may turn that into an error (issue 11).

        Fetching the data key can fail (the database went away just after the commit, the key
        was erased meanwhile); the snapshot is then skipped, as ``write_snapshot`` skips its own
        failures, and the next save past an interval takes one.
        """
        try:
            seal = await self._snapshot_sealer(last)
        except Exception as error:
            _logger.warning("snapshot of %s v%s skipped: no data key (%s)", last.originator_id,
                            last.originator_version, type(error).__name__)
            return
        await write_snapshot(fetch, aggregate, last, seal)

    def _refuse_unsealed(self, aggregates: Sequence[Any]) -> None:
        """Personal data never reaches the store in clear, whoever built this repository."""
        if self.cipher is not None:
            return
        for aggregate in aggregates:
            if getattr(type(aggregate), "holds_personal_data", False):
                raise UnsealedWrite(
                    f"{type(aggregate).__name__} holds personal data: save it through a "
                    "repository with a cipher (ledger.services.repositories.case_repository)")

    async def _seal(self, new_events: list[NewEvent], tenant_id: str) -> list[NewEvent]:
        cipher = self.cipher
        assert cipher is not None
        sealed = [e for e in new_events if e.topic in cipher.topics]
        if not sealed:
            return new_events
        fresh = {e.originator_id: tenant_id for e in sealed if e.originator_version == 1}
        keys = dict(await cipher.keys_for_writing(fresh)) if fresh else {}
        others = {e.originator_id for e in sealed} - keys.keys()
        if others:
            keys.update(await cipher.keys(others))
        return [
            msgspec.structs.replace(e, state=cipher.seal(
                e.originator_id, tenant_id, e.topic, e.state, keys.get(e.originator_id)))
            if e.topic in cipher.topics else e
            for e in new_events
        ]

    async def _snapshot_sealer(self, last: StoredEventRow) -> Callable[[bytes], bytes] | None:
        """Seals a snapshot's state; the key is usually cached from loading the aggregate."""
        cipher = self.cipher
        if cipher is None:
            return None
        key = (await cipher.keys([last.originator_id])).get(last.originator_id)

        def seal(state: bytes) -> bytes:
            return cipher.seal(last.originator_id, last.tenant_id, SNAPSHOT_TOPIC, state, key)

        return seal

    async def refresh_many(self, aggregates: Sequence[Any], *, tenant_id: str) -> list[Any]:
        """``refresh`` for many aggregates in one round trip; returns those brought up to date.

        An aggregate that has pending events by the time the rows arrive, or whose rows do not
        continue its version, or belong to another tenant, is left out (reload it instead).
        """
        rows = await self.store.fetch(REFRESH_MANY_SQL, [a.id for a in aggregates],
                                      [a.version for a in aggregates])
        by_id: dict[UUID, list[Any]] = {}
        for row in rows:
            by_id.setdefault(row[0], []).append(row)
        keys = await self._keys([(False, r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows])
        fresh = []
        cipher = self.cipher
        for aggregate in aggregates:
            if aggregate.pending_events:
                continue
            head = None
            usable = True
            for originator_id, version, topic, state, chain_hash, _, row_tenant in by_id.get(
                    aggregate.id, ()):
                if row_tenant != tenant_id or version != aggregate.version + 1:
                    usable = False
                    break
                if cipher is not None and topic in cipher.topics:
                    state = cipher.open(originator_id, row_tenant, topic, state,
                                        keys.get(originator_id))
                aggregate = self.codec.decode(originator_id, version, topic, state).mutate(aggregate)
                head = ChainHead(version, chain_hash)
            if head is not None:
                self._remember(aggregate, head)
            if usable:
                fresh.append(aggregate)
        return fresh

    async def refresh(self, aggregate: Any, *, tenant_id: str | None = None) -> Any:
        """Bring an aggregate loaded earlier up to date with the events stored since.

        One small query (usually empty), no replay of what the object already holds: this is
        what lets a process keep aggregates in memory and still read every other writer's
        events. The object must have no pending events. Returns the same object.
        """
        if aggregate.pending_events:
            raise ValueError("refresh needs an aggregate without pending events")
        rows = await self.store.read_stream(aggregate.id, after_version=aggregate.version)
        if not rows:
            return aggregate
        if tenant_id is not None and any(row.tenant_id != tenant_id for row in rows):
            raise AggregateNotFound(str(aggregate.id))
        # The same path as a load, so sealed state is opened with the case's key.
        shaped = [(False, r.originator_id, r.originator_version, r.topic, r.state, r.chain_hash,
                   r.recorded_at, r.tenant_id) for r in rows]
        keys = await self._keys(shaped)
        cipher = self.cipher
        head = None
        for _, originator_id, version, topic, state, chain_hash, _, row_tenant in shaped:
            if version != aggregate.version + 1:
                break
            if cipher is not None and topic in cipher.topics:
                state = cipher.open(originator_id, row_tenant, topic, state, keys.get(originator_id))
            aggregate = self.codec.decode(originator_id, version, topic, state).mutate(aggregate)
            head = ChainHead(version, chain_hash)
        if head is not None:
            self._remember(aggregate, head)
        return aggregate
