"""Signed checkpoints: the head of every stream, as of a feed position, signed outside the DB.

``take_checkpoint`` (``ledger checkpoint``, and periodically in the process that runs the
projections) stores, under an advisory lock and in one transaction:

1. the heads of the streams that changed since the previous checkpoint (``checkpoint_heads``),
   up to the newest event below the feed horizon (so no late commit can slip in behind it);
2. the checkpoint row: the SHA-256 over *all* heads as of this checkpoint in feed order, the
   feed position and the stream count, signed with the Ed25519 key (``ledger.audit.signing``).

``ledger verify`` then checks the latest checkpoint's signature over the heads it recomputes
from ``checkpoint_heads``, and each stream against its head there (``ledger.audit.verify``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.audit.signing import HeadsDigest, message, public_bytes, signature_holds

LOCK_ID = 0x1ED6E5_0051
_log = logging.getLogger("ledger.checkpoints")

LATEST_SQL = """
    SELECT checkpoint_id, created_at, feed_transaction_id::text::bigint,
           feed_notification_id, streams, heads_digest, public_key, signature
    FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1
"""
HORIZON_SQL = """
    SELECT transaction_id::text::bigint, notification_id FROM stored_events
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY transaction_id DESC, notification_id DESC LIMIT 1
"""
CHANGED_HEADS_SQL = """
    INSERT INTO checkpoint_heads (checkpoint_id, stream_id, tenant_id, version, chain_hash,
                                  transaction_id, notification_id)
    SELECT DISTINCT ON (originator_id) $1, originator_id, tenant_id, originator_version,
           chain_hash, transaction_id, notification_id
    FROM stored_events
    WHERE (transaction_id, notification_id) > ($2::text::xid8, $3::bigint)
      AND (transaction_id, notification_id) <= ($4::text::xid8, $5::bigint)
    ORDER BY originator_id, originator_version DESC
"""
# Heads as of checkpoint $1, in feed order: per stream its latest row up to that checkpoint.
HEADS_SQL = """
    SELECT stream_id, version, chain_hash, tenant_id FROM (
        SELECT DISTINCT ON (stream_id) stream_id, version, chain_hash, tenant_id,
               transaction_id, notification_id
        FROM checkpoint_heads WHERE checkpoint_id <= $1
        ORDER BY stream_id, checkpoint_id DESC
    ) latest ORDER BY transaction_id, notification_id
"""
INSERT_SQL = """
    INSERT INTO checkpoints (checkpoint_id, created_at, feed_transaction_id, feed_notification_id,
                             streams, heads_digest, public_key, signature)
    VALUES ($1, $2, $3::text::xid8, $4, $5, $6, $7, $8)
"""
CASE_HEAD_SQL = """
    SELECT h.checkpoint_id, h.version, h.chain_hash, h.tenant_id FROM checkpoint_heads h
    WHERE h.stream_id = $1 ORDER BY h.checkpoint_id DESC LIMIT 1
"""


class Checkpoint(NamedTuple):
    checkpoint_id: int
    created_at: datetime
    feed_transaction_id: int
    feed_notification_id: int
    streams: int
    heads_digest: bytes
    public_key: bytes
    signature: bytes

    def signed_message(self) -> bytes:
        return message(self.checkpoint_id, self.created_at, self.feed_transaction_id,
                       self.feed_notification_id, self.streams, self.heads_digest)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]),
                      bytes(row[7]))


async def latest(conn: Any) -> Checkpoint | None:
    row = await conn.fetchrow(LATEST_SQL)
    return None if row is None else _checkpoint(row)


async def heads(conn: asyncpg.Connection, checkpoint_id: int) -> AsyncIterator[tuple[UUID, int, bytes, str]]:
    """Every stream head as of ``checkpoint_id`` in feed order (inside a transaction)."""
    async for row in conn.cursor(HEADS_SQL, checkpoint_id, prefetch=5000):
        yield row[0], row[1], bytes(row[2]), row[3]


async def _digest(conn: asyncpg.Connection, checkpoint_id: int) -> tuple[bytes, int]:
    digest = HeadsDigest()
    async for stream_id, version, chain_hash, _ in heads(conn, checkpoint_id):
        digest.add(stream_id, version, chain_hash)
    return digest.result()


async def take_checkpoint(pool: asyncpg.Pool, key: Ed25519PrivateKey, *,
                          force: bool = False) -> Checkpoint | None:
    """Sign the current heads; None when nothing was appended since the last checkpoint
    (unless ``force``) or there are no events yet."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
        previous = await latest(conn)
        horizon = await conn.fetchrow(HORIZON_SQL)
        if horizon is None:
            return None
        position = (horizon[0], horizon[1])
        after = (0, 0) if previous is None else (previous.feed_transaction_id,
                                                  previous.feed_notification_id)
        if position <= after and previous is not None and not force:
            return None
        checkpoint_id = await conn.fetchval("SELECT nextval('checkpoint_ids')")
        if position > after:
            await conn.execute(CHANGED_HEADS_SQL, checkpoint_id, str(after[0]), after[1],
                               str(position[0]), position[1])
        else:
            position = after
        digest, streams = await _digest(conn, checkpoint_id)
        created_at = datetime.now(UTC)
        signed = message(checkpoint_id, created_at, position[0], position[1], streams, digest)
        checkpoint = Checkpoint(checkpoint_id, created_at, position[0], position[1], streams,
                                digest, public_bytes(key), key.sign(signed))
        await conn.execute(INSERT_SQL, checkpoint_id, created_at, str(position[0]), position[1],
                           streams, digest, checkpoint.public_key, checkpoint.signature)
        return checkpoint


class CheckpointCheck(NamedTuple):
    """The latest checkpoint and whether its signature holds over the heads stored for it."""

    checkpoint: Checkpoint | None
    signature_ok: bool
    problem: str | None


async def check_latest(pool: asyncpg.Pool, public_key: Ed25519PublicKey | None) -> CheckpointCheck:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoint = await latest(conn)
        if checkpoint is None:
            return CheckpointCheck(None, False, "no checkpoint has been taken yet")
        digest, streams = await _digest(conn, checkpoint.checkpoint_id)
    if public_key is None:
        return CheckpointCheck(checkpoint, False, "no public key to check its signature with")
    if public_bytes(public_key) != checkpoint.public_key:
        return CheckpointCheck(checkpoint, False, "it is signed by another key than the configured one")
    if (digest, streams) != (checkpoint.heads_digest, checkpoint.streams):
        return CheckpointCheck(checkpoint, False, "its stored stream heads were altered")
    if not signature_holds(public_key, checkpoint.signed_message(), checkpoint.signature):
        return CheckpointCheck(checkpoint, False, "its signature does not match")
    return CheckpointCheck(checkpoint, True, None)
