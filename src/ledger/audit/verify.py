"""Recompute hash chains: one case (API) or every stream of the store or a tenant (CLI).

The all-streams walk pages through ``stored_events`` in primary-key order (case, version) with
keyset pagination, so memory stays constant and no long transaction holds the feed back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from uuid import UUID

from ledger.eventstore import GENESIS_HASH, EventStore, VerifyResult, verify_stream
from ledger.eventstore.chain import next_chain_hash

PAGE_SIZE = 5000
_ZERO_ID = UUID(int=0)
ALL_SQL = """
    SELECT originator_id, originator_version, topic, state, tenant_id, actor, recorded_at,
           chain_hash
    FROM stored_events
    WHERE (originator_id, originator_version) > ($1, $2) AND ($3::text IS NULL OR tenant_id = $3)
    ORDER BY originator_id, originator_version LIMIT $4
"""


async def verify_case(store: EventStore, tenant_id: str, case_id: UUID) -> VerifyResult | None:
    """The chain check of one case; None when it is not the tenant's (or does not exist).

    Rows are read without a tenant filter so that a row moved to another tenant shows up as
    a broken link rather than as a missing row."""
    rows = await store.read_stream(case_id)
    if not rows or rows[0].tenant_id != tenant_id:
        return None
    return verify_stream(rows)


class BadStream(NamedTuple):
    case_id: UUID
    first_bad_version: int


class Summary(NamedTuple):
    streams: int
    events: int
    bad: list[BadStream]


Progress = Callable[[int, int], None]


async def verify_all(fetch: Callable[..., Awaitable[list[Any]]], *, tenant_id: str | None = None,
                     progress: Progress | None = None, page_size: int = PAGE_SIZE) -> Summary:
    """Check every stream (of ``tenant_id``); ``progress(streams, events)`` after each page."""
    last_id, last_version = _ZERO_ID, 0
    streams = events = 0
    bad: list[BadStream] = []
    current: UUID | None = None
    expected, previous, broken = 1, GENESIS_HASH, False
    while True:
        rows = await fetch(ALL_SQL, last_id, last_version, tenant_id, page_size)
        for (case_id, version, topic, state, tenant, actor, recorded_at, chain_hash) in rows:
            if case_id != current:
                current, expected, previous, broken = case_id, 1, GENESIS_HASH, False
                streams += 1
            events += 1
            if broken:
                continue
            recomputed = next_chain_hash(previous, case_id, version, topic, bytes(state), tenant,
                                         actor, recorded_at)
            if version != expected or recomputed != bytes(chain_hash):
                bad.append(BadStream(case_id, expected))
                broken = True
                continue
            previous, expected = recomputed, expected + 1
        if rows:
            last_id, last_version = rows[-1][0], rows[-1][1]
        if progress is not None:
            progress(streams, events)
        if len(rows) < page_size:
            return Summary(streams, events, bad)
