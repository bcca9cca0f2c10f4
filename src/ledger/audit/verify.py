"""Recompute hash chains and hold each stream to its signed checkpoint head.

One case (API) or every stream of the store or a tenant (CLI). The all-streams walk pages
through ``stored_events`` in primary-key order (case, version) with keyset pagination, so memory
stays constant and no long transaction holds the feed back; the checkpoint heads of each page's
range of case ids are read alongside. Against a checkpoint, a stream is broken when:

- its chain does not recompute (an edited, deleted, inserted or reordered event);
- it ends before its checkpoint head (events deleted from its tail): first bad = the first
  missing version;
- its event at the head's version has another chain hash (rewritten with recomputed hashes);
- it has no events at all although the checkpoint lists it (a deleted stream): first bad 1.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from uuid import UUID

from ledger.audit.events import is_case_event
from ledger.eventstore import GENESIS_HASH, EventStore, VerifyResult, verify_stream
from ledger.eventstore.chain import next_chain_hash
from ledger.privacy.legacy import trusted_redactions

PAGE_SIZE = 5000
_ZERO_ID = UUID(int=0)
ALL_SQL = """
    SELECT originator_id, originator_version, topic, state, tenant_id, actor, recorded_at,
           chain_hash
    FROM stored_events
    WHERE (originator_id, originator_version) > ($1, $2) AND ($3::text IS NULL OR tenant_id = $3)
    ORDER BY originator_id, originator_version LIMIT $4
"""
# Heads as of checkpoint $1 for case ids in ($2, $3] ($3 NULL: no upper bound).
RANGE_HEADS_SQL = """
    SELECT DISTINCT ON (stream_id) stream_id, version, chain_hash, checkpoint_id
    FROM checkpoint_heads
    WHERE checkpoint_id <= $1 AND stream_id > $2 AND ($3::uuid IS NULL OR stream_id <= $3)
      AND ($4::text IS NULL OR tenant_id = $4)
    ORDER BY stream_id, checkpoint_id DESC
"""
CASE_HEAD_SQL = """
    SELECT version, chain_hash, checkpoint_id, tenant_id FROM checkpoint_heads
    WHERE stream_id = $1 AND checkpoint_id <= $2 ORDER BY checkpoint_id DESC LIMIT 1
"""
LATEST_ID_SQL = """
    SELECT checkpoint_id, public_key FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1
"""


class Head(NamedTuple):
    version: int
    chain_hash: bytes
    checkpoint_id: int


class CaseVerdict(NamedTuple):
    """``verify_stream``'s result, held to the latest checkpoint (``checkpoint_id`` or None)."""

    ok: bool
    events_checked: int
    first_bad_version: int | None
    checkpoint_id: int | None
    reason: str | None


def _against_head(chain: VerifyResult, hashes: list[bytes], head: Head | None) -> tuple[VerifyResult, str | None]:
    if not chain.ok:
        return chain, "the chain does not recompute"
    if head is None:
        return chain, None
    if not hashes:
        return VerifyResult(False, 0, 1), f"the stream is missing (checkpoint {head.checkpoint_id})"
    if len(hashes) < head.version:
        return (VerifyResult(False, chain.events_checked, len(hashes) + 1),
                f"events after version {len(hashes)} are missing (checkpoint {head.checkpoint_id} "
                f"has version {head.version})")
    if hashes[head.version - 1] != head.chain_hash:
        return (VerifyResult(False, chain.events_checked, head.version),
                f"version {head.version} differs from checkpoint {head.checkpoint_id} "
                "(rewritten)")
    return chain, None


async def verify_case(store: EventStore, tenant_id: str, case_id: UUID) -> CaseVerdict | None:
    """The chain check of one case against its latest checkpoint head; None when the case is
    not the tenant's (or never existed).

    Rows are read without a tenant filter so that a row moved to another tenant shows up as
    a broken link rather than as a missing row."""
    rows = await store.read_stream(case_id)
    checkpoints = await store.fetch(LATEST_ID_SQL)
    latest = checkpoints[0][0] if checkpoints else None
    found = await store.fetch(CASE_HEAD_SQL, case_id, latest) if latest is not None else []
    head = Head(found[0][0], bytes(found[0][1]), found[0][2]) if found else None
    owner = rows[0].tenant_id if rows else (found[0][3] if found else None)
    if owner != tenant_id or (rows and not is_case_event(rows[0].topic)):
        return None  # not the tenant's, or not a case (a policy's stream, say)
    # Redactions count when signed by the checkpoint key (`ledger verify` checks that key).
    trusted = await trusted_redactions(store.fetch, bytes(checkpoints[0][1]) if checkpoints
                                       else None, case_id)
    redacted = {version: digest for (_, version), digest in trusted.items()}
    chain = verify_stream(rows, redacted=redacted) if rows else VerifyResult(True, 0, None)
    result, reason = _against_head(chain, [bytes(r.chain_hash) for r in rows], head)
    return CaseVerdict(result.ok, result.events_checked, result.first_bad_version,
                       None if head is None else head.checkpoint_id, reason)


class BadStream(NamedTuple):
    case_id: UUID
    first_bad_version: int
    reason: str = "the chain does not recompute"


class Summary(NamedTuple):
    streams: int
    events: int
    bad: list[BadStream]


Progress = Callable[[int, int], None]
Fetch = Callable[..., Awaitable[list[Any]]]


class _Walk:
    """The state of the all-streams walk: the current stream and the heads not yet reached."""

    def __init__(self, redacted: dict[tuple[UUID, int], bytes] | None = None) -> None:
        self.redacted = redacted or {}
        self.streams = self.events = 0
        self.bad: list[BadStream] = []
        self.heads: dict[UUID, Head] = {}
        self.order: deque[UUID] = deque()  # head ids in ascending order, as the pages come
        self.current: UUID | None = None
        self.hashes: list[bytes] = []
        self.expected, self.previous, self.broken = 1, GENESIS_HASH, False

    def finish_stream(self) -> None:
        if self.current is None:
            return
        head = self.heads.pop(self.current, None)
        if not self.broken:
            chain = VerifyResult(True, len(self.hashes), None)
            result, reason = _against_head(chain, self.hashes, head)
            if not result.ok:
                self.bad.append(BadStream(self.current, result.first_bad_version or 1,
                                          reason or ""))
        self.current = None

    def add_head(self, stream_id: UUID, head: Head) -> None:
        self.heads[stream_id] = head
        self.order.append(stream_id)

    def missing_before(self, case_id: UUID | None) -> None:
        """Checkpointed streams with ids below ``case_id`` (None: all) that have no events."""
        while self.order and (case_id is None or self.order[0] < case_id):
            stream_id = self.order.popleft()
            head = self.heads.pop(stream_id, None)
            if head is None:
                continue  # its stream was walked and checked already
            self.bad.append(BadStream(stream_id, 1, f"the stream is missing (checkpoint "
                                                    f"{head.checkpoint_id} has version {head.version})"))

    def row(self, case_id: UUID, version: int, topic: str, state: bytes, tenant: str,
            actor: str | None, recorded_at: Any, chain_hash: bytes) -> None:
        if case_id != self.current:
            self.finish_stream()
            self.missing_before(case_id)
            self.current, self.expected, self.previous, self.broken = case_id, 1, GENESIS_HASH, False
            self.hashes = []
            self.streams += 1
        self.events += 1
        if self.broken:
            return
        recomputed = next_chain_hash(self.previous, case_id, version, topic, state, tenant,
                                     actor, recorded_at)
        digest = self.redacted.get((case_id, version))
        if digest is not None and hashlib.sha256(state).digest() == digest:
            recomputed = chain_hash  # a signed redaction vouches for this row's stored hash
        if version != self.expected or recomputed != chain_hash:
            self.bad.append(BadStream(case_id, self.expected))
            self.broken = True
            return
        self.hashes.append(recomputed)
        self.previous, self.expected = recomputed, self.expected + 1


async def verify_all(fetch: Fetch, *, tenant_id: str | None = None,
                     progress: Progress | None = None, page_size: int = PAGE_SIZE,
                     checkpoint_id: int | None = None,
                     redacted: dict[tuple[UUID, int], bytes] | None = None) -> Summary:
    """Check every stream (of ``tenant_id``), against ``checkpoint_id``'s heads if given;
    ``redacted``: trusted redactions (``trusted_redactions``); ``progress(streams, events)``
    after each page."""
    last_id, last_version = _ZERO_ID, 0
    walk = _Walk(redacted)
    while True:
        rows = await fetch(ALL_SQL, last_id, last_version, tenant_id, page_size)
        final = len(rows) < page_size
        if checkpoint_id is not None:
            upper = None if final else rows[-1][0]
            for stream_id, version, chain_hash, source in await fetch(
                    RANGE_HEADS_SQL, checkpoint_id, last_id, upper, tenant_id):
                walk.add_head(stream_id, Head(version, bytes(chain_hash), source))
        for (case_id, version, topic, state, tenant, actor, recorded_at, chain_hash) in rows:
            walk.row(case_id, version, topic, bytes(state), tenant, actor, recorded_at,
                     bytes(chain_hash))
        if rows:
            last_id, last_version = rows[-1][0], rows[-1][1]
        if progress is not None:
            progress(walk.streams, walk.events)
        if final:
            walk.finish_stream()
            walk.missing_before(None)
            return Summary(walk.streams, walk.events, walk.bad)
