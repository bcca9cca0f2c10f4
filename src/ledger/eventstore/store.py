"""The asyncpg event store: atomic appends with chain hashes, stream reads and the global feed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol
from uuid import UUID

import asyncpg
import msgspec

from ledger.eventstore.appended import note_appended
from ledger.eventstore.append_sql import (
    APPEND_MANY_SQL,
    APPEND_MANY_WITH_IDEMPOTENCY_SQL,
    APPEND_ONE_SQL,
    APPEND_ONE_WITH_IDEMPOTENCY_SQL,
)
from ledger.eventstore.chain import GENESIS_HASH, chain_hashes
from ledger.eventstore.errors import ConcurrencyConflict, IdempotencyKeyConflict, InvalidAppend
from ledger.eventstore.feed import FeedReader
from ledger.eventstore.lane import ConnectionLane
from ledger.eventstore.notify import PgWakeups, Wakeup
from ledger.eventstore.records import (
    Cursor,
    IdempotencyRecord,
    NewEvent,
    StoredEventRow,
    StoredIdempotencyRecord,
)
from ledger.eventstore.sql import EVENT_COLUMNS

CHAIN_HEADS_SQL = """
    SELECT DISTINCT ON (originator_id) originator_id, originator_version, chain_hash
    FROM stored_events
    WHERE originator_id = ANY($1::uuid[]) ORDER BY originator_id, originator_version DESC
"""
READ_STREAM_SQL = f"""
    SELECT {EVENT_COLUMNS} FROM stored_events
    WHERE originator_id = $1 AND originator_version > $2 AND originator_version <= $3
    ORDER BY originator_version
"""
GET_IDEMPOTENCY_SQL = """
    SELECT tenant_id, key, request_hash, status, response, created_at FROM idempotency_keys
    WHERE tenant_id = $1 AND key = $2
"""
PUT_IDEMPOTENCY_SQL = """
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
    VALUES ($1, $2, $3, $4, $5)
"""
_MAX_VERSION = 2**63 - 1


class ReplySealer(Protocol):
    """Seals the personal parts of a stored idempotency reply and opens them on replay."""

    async def seal(self, tenant_id: str, response: bytes) -> bytes: ...

    async def open(self, tenant_id: str, response: bytes) -> bytes: ...


class ChainHead(NamedTuple):
    """The newest stored event of a stream as far as an appender knows it."""

    originator_version: int
    chain_hash: bytes


def now_recorded_at() -> datetime:
    """The store's record-time clock (PostgreSQL keeps microseconds, as does datetime)."""
    return datetime.now(UTC)


def _streams_in_order(events: Sequence[NewEvent]) -> dict[UUID, list[NewEvent]]:
    streams: dict[UUID, list[NewEvent]] = {}
    for new_event in events:
        batch = streams.setdefault(new_event.originator_id, [])
        if batch and new_event.originator_version != batch[-1].originator_version + 1:
            raise InvalidAppend("versions of one stream must be consecutive and ascending")
        if new_event.originator_version < 1:
            raise InvalidAppend("versions start at 1")
        batch.append(new_event)
    return streams


def _raise_typed(error: asyncpg.UniqueViolationError, tenant_id: str,
                 idempotency: IdempotencyRecord | None, ids: tuple[UUID, ...]) -> None:
    if error.constraint_name == "idempotency_keys_pkey" and idempotency is not None:
        raise IdempotencyKeyConflict(tenant_id, idempotency.key) from error
    if error.constraint_name == "stored_events_pkey":
        raise ConcurrencyConflict("a stream was appended to concurrently", ids) from error


class EventStore:
    """Appends and reads ``stored_events`` through an asyncpg pool.

    An append is one statement (one round trip, its own transaction in autocommit). Subscribers
    in this process are woken after each successful append; with ``cross_process_wakeups`` a
    coalesced ``pg_notify`` is also sent after commit and other processes' notifications are
    heard once ``start()`` has run.
    """

    def __init__(self, pool: asyncpg.Pool, *, held_connections: int = 0,
                 cross_process_wakeups: bool = False,
                 notify_channel: str = "ledger_events") -> None:
        self.pool = pool
        self.wakeup = Wakeup()
        self._lane = ConnectionLane(pool, held_connections) if held_connections else None
        self._lane_started = False
        self._pg_wakeups = (
            PgWakeups(pool, self.wakeup, notify_channel) if cross_process_wakeups else None
        )
        self.feed = FeedReader(self.fetch, self.wakeup)
        # Seals personal data in stored idempotency replies (set by the case repository
        # factory, ledger.services.repositories; None: replies are stored as they are).
        self.reply_sealer: ReplySealer | None = None

    async def start(self) -> None:
        """Check out ``held_connections`` and listen for other processes' appends (if enabled).

        Without ``start()`` every statement borrows a pool connection (plus the pool's reset).
        """
        if self._lane is not None and not self._lane_started:
            await self._lane.start()
            self._lane_started = True
        if self._pg_wakeups is not None:
            await self._pg_wakeups.start()

    async def close(self) -> None:
        """Stop background tasks and return held connections; the pool belongs to the caller."""
        if self._pg_wakeups is not None:
            await self._pg_wakeups.close()
        if self._lane is not None and self._lane_started:
            self._lane_started = False
            await self._lane.close()

    async def __aenter__(self) -> EventStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def fetch(self, sql: str, *arguments: object) -> list[asyncpg.Record]:
        """Run one autocommit statement on a held connection, else on a pool connection."""
        if self._lane_started:
            return await self._lane.fetch(sql, *arguments)  # type: ignore[union-attr]
        return await self.pool.fetch(sql, *arguments)

    def notify_appended(self) -> None:
        """Wake subscribers; call after committing a transaction you passed as ``connection``."""
        self.wakeup.fire()
        if self._pg_wakeups is not None:
            self._pg_wakeups.poke()

    async def append(
        self,
        events: Sequence[NewEvent],
        *,
        tenant_id: str,
        actor: str | None = None,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
        heads: Mapping[UUID, ChainHead] | None = None,
        idempotency: IdempotencyRecord | None = None,
        recorded_at: datetime | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[StoredEventRow]:
        """Store ``events`` atomically with chain hashes and metadata; return the stored rows.

        ``heads`` gives, for each stream that already exists, the version and chain hash of its
        newest event (the repository knows them from loading); a missing head costs one extra
        query. Raises ``ConcurrencyConflict`` when any stream moved on (nothing stored) and
        ``IdempotencyKeyConflict`` when the idempotency key exists (nothing stored).
        With ``connection`` inside your own transaction, call ``notify_appended()`` after commit.
        """
        if not events:
            raise InvalidAppend("nothing to append")
        streams = _streams_in_order(events)
        known = dict(heads or {})
        unknown = [i for i, s in streams.items() if s[0].originator_version > 1 and i not in known]
        if unknown:
            known.update(await self.chain_heads(unknown, connection=connection))
        moment = recorded_at or now_recorded_at()
        ids, versions, topics, states, hashes = [], [], [], [], []
        check_ids, check_versions, check_hashes = [], [], []
        for originator_id, batch in streams.items():
            previous_version = batch[0].originator_version - 1
            previous_hash = GENESIS_HASH
            if previous_version:
                head = known.get(originator_id)
                if head is None or head.originator_version != previous_version:
                    raise ConcurrencyConflict("stream head moved on", (originator_id,))
                previous_hash = head.chain_hash
                check_ids.append(originator_id)
                check_versions.append(previous_version)
                check_hashes.append(previous_hash)
            rows = [(e.originator_id, e.originator_version, e.topic, e.state) for e in batch]
            hashes.extend(chain_hashes(previous_hash, rows, tenant_id, actor, moment))
            for e in batch:
                ids.append(e.originator_id)
                versions.append(e.originator_version)
                topics.append(e.topic)
                states.append(e.state)
        metadata = [moment, tenant_id, actor, correlation_id, causation_id]
        arguments: list[object]
        if len(ids) == 1:
            arguments = [ids[0], versions[0], topics[0], states[0], hashes[0], *metadata,
                         check_hashes[0] if check_hashes else None]
            sql = APPEND_ONE_SQL if idempotency is None else APPEND_ONE_WITH_IDEMPOTENCY_SQL
        else:
            arguments = [ids, versions, topics, states, hashes, *metadata,
                         check_ids, check_versions, check_hashes]
            sql = APPEND_MANY_SQL if idempotency is None else APPEND_MANY_WITH_IDEMPOTENCY_SQL
        if idempotency is not None:
            response = idempotency.response
            if self.reply_sealer is not None:
                response = await self.reply_sealer.seal(tenant_id, response)
            arguments += [idempotency.key, idempotency.request_hash, idempotency.status,
                          response]
        try:
            if connection is None:
                returned = await self.fetch(sql, *arguments)
            else:
                returned = await connection.fetch(sql, *arguments)
        except asyncpg.UniqueViolationError as error:
            _raise_typed(error, tenant_id, idempotency, tuple(streams))
            raise
        if not returned:
            raise ConcurrencyConflict("a stream head differs from the one hashed against",
                                      tuple(streams))
        if connection is None or not connection.is_in_transaction():
            self.notify_appended()
        positions = {(r[0], r[1]): (r[2], r[3]) for r in returned}
        note_appended(max(r[2] for r in returned))
        stored = []
        for index, originator_id in enumerate(ids):
            notification_id, transaction_id = positions[(originator_id, versions[index])]
            stored.append(StoredEventRow(
                originator_id, versions[index], topics[index], states[index], notification_id,
                transaction_id, moment, tenant_id, actor, correlation_id, causation_id,
                hashes[index]))
        return stored

    async def chain_heads(self, originator_ids: Sequence[UUID], *,
                          connection: asyncpg.Connection | None = None) -> dict[UUID, ChainHead]:
        """Newest version and chain hash of each existing stream."""
        fetch = connection.fetch if connection is not None else self.fetch
        rows = await fetch(CHAIN_HEADS_SQL, list(originator_ids))
        return {r["originator_id"]: ChainHead(r["originator_version"], r["chain_hash"])
                for r in rows}

    async def read_stream(
        self, originator_id: UUID, *, after_version: int = 0, until_version: int | None = None,
        until_recorded_at: datetime | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[StoredEventRow]:
        """Rows of one stream in version order, optionally bounded by version and record time.

        With ``until_recorded_at`` the result is the longest prefix recorded at or before it.
        """
        fetch = connection.fetch if connection is not None else self.fetch
        bound = _MAX_VERSION if until_version is None else until_version
        records = await fetch(READ_STREAM_SQL, originator_id, after_version, bound)
        rows = [StoredEventRow(*r) for r in records]
        if until_recorded_at is not None:
            for index, row in enumerate(rows):
                if row.recorded_at > until_recorded_at:
                    return rows[:index]
        return rows

    async def read_all(self, after: Cursor | None = None, limit: int = 1000, *,
                       tenant_id: str | None = None,
                       topics: Sequence[str] | None = None) -> list[StoredEventRow]:
        """One page of the global (or one tenant's) feed after ``after``; see ``FeedReader``."""
        return await self.feed.read(after, limit, tenant_id=tenant_id, topics=topics)

    def subscribe(self, after: Cursor | None = None, *, tenant_id: str | None = None,
                  topics: Sequence[str] | None = None, page_size: int = 1000,
                  poll_interval: float = 0.2) -> AsyncIterator[StoredEventRow]:
        """Every committed event after ``after``, exactly once, forever; see ``FeedReader``."""
        return self.feed.subscribe(after, tenant_id=tenant_id, topics=topics,
                                   page_size=page_size, poll_interval=poll_interval)

    async def get_idempotency(self, tenant_id: str, key: str) -> StoredIdempotencyRecord | None:
        """The recorded response for an idempotency key, if any."""
        rows = await self.fetch(GET_IDEMPOTENCY_SQL, tenant_id, key)
        if not rows:
            return None
        record = StoredIdempotencyRecord(*rows[0])
        if self.reply_sealer is not None:
            record = msgspec.structs.replace(
                record, response=await self.reply_sealer.open(tenant_id, bytes(record.response)))
        return record

    async def put_idempotency(self, tenant_id: str, record: IdempotencyRecord, *,
                              connection: asyncpg.Connection | None = None) -> None:
        """Record a response that produced no events (e.g. a refusal); duplicate keys raise."""
        fetch = connection.fetch if connection is not None else self.fetch
        response = record.response
        if self.reply_sealer is not None:
            response = await self.reply_sealer.seal(tenant_id, response)
        try:
            await fetch(PUT_IDEMPOTENCY_SQL, tenant_id, record.key,
                        record.request_hash, record.status, response)
        except asyncpg.UniqueViolationError as error:
            raise IdempotencyKeyConflict(tenant_id, record.key) from error
