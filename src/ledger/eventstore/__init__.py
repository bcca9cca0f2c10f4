"""asyncpg event store: append/read/feed/subscribe, codec, repository, hash chain.

The public API, re-exported here::

    store = EventStore(pool, held_connections=8)   # ledger.eventstore.store; await store.start()
    rows = await store.append(new_events, tenant_id=..., actor=..., idempotency=...)
    rows = await store.read_stream(case_id, until_recorded_at=...)
    page = await store.read_all(after=Cursor.parse(text), limit=100, tenant_id=...)
    page = await store.feed.read_waiting(after=cursor, limit=100, wait=30.0, tenant_id=...)
    async for row in store.subscribe(after=cursor): ...
    repository = case_repository(store, master_key)  # ledger.services.repositories (cases)
    case = await repository.load(case_id, tenant_id=...)
    await repository.save(case, tenant_id=..., actor=..., idempotency=IdempotencyRecord(...))
    verify_stream(rows)                       # ledger.eventstore.chain (algorithm: CHAIN.md)
"""

from ledger.eventstore.chain import GENESIS_HASH, VerifyResult, canonical_encoding, verify_stream
from ledger.eventstore.codec import EventCodec
from ledger.eventstore.errors import (
    AggregateNotFound,
    ConcurrencyConflict,
    EventDecodingError,
    EventStoreError,
    IdempotencyKeyConflict,
    InvalidAppend,
    InvalidCursor,
    UnsealedWrite,
)
from ledger.eventstore.records import (
    Cursor,
    IdempotencyRecord,
    NewEvent,
    StoredEventRow,
    StoredIdempotencyRecord,
)
from ledger.eventstore.repository import Repository
from ledger.eventstore.store import ChainHead, EventStore

__all__ = [
    "GENESIS_HASH",
    "AggregateNotFound",
    "ChainHead",
    "ConcurrencyConflict",
    "Cursor",
    "EventCodec",
    "EventDecodingError",
    "EventStore",
    "EventStoreError",
    "IdempotencyKeyConflict",
    "IdempotencyRecord",
    "InvalidAppend",
    "InvalidCursor",
    "NewEvent",
    "Repository",
    "StoredEventRow",
    "StoredIdempotencyRecord",
    "UnsealedWrite",
    "VerifyResult",
    "canonical_encoding",
    "verify_stream",
]
