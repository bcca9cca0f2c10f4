"""``Idempotency-Key``: replay the first response of a repeated POST.

The record (tenant, key, hash of method + path + body, status, body) is written in the same
statement as the events the request produced, so "events stored but record lost" cannot
happen. A request that appends nothing stores its record on its own afterwards.

We do not look the key up before running the request: that would cost every POST a round
trip for the rare retry. Instead a retry runs again and is caught where it must differ from a
first attempt: its append fails on the key (nothing stored), its command is refused because
the first attempt already changed the case, or its standalone record collides. Each of those
paths then reads the record and replays it (or answers ``idempotency_key_reused``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import msgspec

from litestar import Request, Response

from ledger.api.problems import ProblemError, invalid
from ledger.eventstore import EventStore, IdempotencyKeyConflict, IdempotencyRecord
from ledger.eventstore.records import StoredIdempotencyRecord
from ledger.services.cases import Idempotency, Reply

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
JSON = "application/json"


def canonical(body: bytes) -> bytes:
    """A JSON body as its value, not its bytes: keys sorted, no insignificant whitespace, so a
    retry that serialised the same document again (another key order, a trailing newline)
    is the same body. Anything that is not JSON stays as sent."""
    try:
        return msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return body


def request_hash(method: str, path: str, body: bytes) -> bytes:
    digest = hashlib.blake2b(digest_size=32)
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, None without the header; 422 if malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise invalid("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


async def idempotency_of(request: Request) -> Idempotency | None:
    """The request's idempotency key and hash, None without the header; 422 if malformed."""
    key = idempotency_key(request)
    if key is None:
        return None
    body = await request.body()
    return Idempotency(key, request_hash(request.method, request.url.path, canonical(body)))


def replay(record: StoredIdempotencyRecord, idempotency: Idempotency) -> Response[bytes]:
    # An empty hash: the request held a debtor's data, since erased (``privacy.erasure``).
    if record.request_hash and record.request_hash != idempotency.request_hash:
        raise ProblemError(
            422, "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        )
    return Response(
        record.response, status_code=record.status, media_type=JSON,
        headers={"Idempotency-Replayed": "true"},
    )


async def run_idempotent(
    store: EventStore,
    tenant_id: str,
    idempotency: Idempotency | None,
    action: Callable[[Idempotency | None], Awaitable[Reply]],
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """Run ``action`` once per idempotency key; see the module docstring."""
    try:
        reply = await action(idempotency)
    except IdempotencyKeyConflict:
        assert idempotency is not None
        return await _replay_stored(store, tenant_id, idempotency)
    except Exception:
        # A retry of a request that succeeded can be refused because the first attempt
        # changed the case (e.g. promise_pending): the stored first answer wins.
        if idempotency is None:
            raise
        record = await store.get_idempotency(tenant_id, idempotency.key)
        if record is None:
            raise
        return replay(record, idempotency)
    if idempotency is not None and not reply.recorded and reply.status < 300:
        try:
            await store.put_idempotency(
                tenant_id,
                IdempotencyRecord(idempotency.key, idempotency.request_hash, reply.status, reply.body),
            )
        except IdempotencyKeyConflict:
            return await _replay_stored(store, tenant_id, idempotency)
    return Response(reply.body, status_code=reply.status, media_type=JSON, headers=headers)


async def run_once(request: Request, store: EventStore, tenant_id: str,
                   action: Callable[[], Awaitable[tuple[int, bytes]]], *,
                   kept: Callable[[bytes], bytes] | None = None,
                   read_only: bool = False) -> Response[bytes]:
    """``Idempotency-Key`` for a POST that appends no event (a secret rotation, a test
    message, a redelivery, a revocation, a preview): running it again is no way to notice a
    repeat (a second rotation would replace the secret the client lost), so the key is looked
    up first and a repeat answered from the record. ``kept(body)`` is what the record keeps
    of the answer (a secret is shown once: its replay has it null). ``read_only``: the
    record keeps no answer at all (a preview holds personal data) and a repeat runs again,
    still answering ``idempotency_key_reused`` for another request under the same key."""
    idempotency = await idempotency_of(request)
    if idempotency is not None:
        record = await store.get_idempotency(tenant_id, idempotency.key)
        if record is not None:
            if not read_only:
                return replay(record, idempotency)
            replay(record, idempotency)  # only checks that it is the same request
            status, body = await action()
            return Response(body, status_code=status, media_type=JSON,
                            headers={"Idempotency-Replayed": "true"})
    status, body = await action()
    if idempotency is not None and status < 300:
        stored = b"" if read_only else kept(body) if kept is not None else body
        try:
            await store.put_idempotency(tenant_id, IdempotencyRecord(
                idempotency.key, idempotency.request_hash, status, stored))
        except IdempotencyKeyConflict:  # the same key at the same moment: the first one wins
            if not read_only:
                return await _replay_stored(store, tenant_id, idempotency)
    return Response(body, status_code=status, media_type=JSON)


async def _replay_stored(store: EventStore, tenant_id: str, idempotency: Idempotency) -> Response[bytes]:
    record = await store.get_idempotency(tenant_id, idempotency.key)
    if record is None:  # deleted by the retention sweep between the conflict and now
        raise ProblemError(409, "concurrency_conflict", "retry the request")
    return replay(record, idempotency)


PURGE_SQL = """
DELETE FROM idempotency_keys
WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys
                        WHERE created_at < now() - make_interval(hours => $1) LIMIT 10000))
"""
RETENTION_HOURS = 48
"""Records live at least this long (API.md promises 24 h)."""
