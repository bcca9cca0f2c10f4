"""Write the latest signed checkpoint, with every stream head it covers, as one JSON file.

An auditor keeps this file outside the system: ``docs/verify_export.py --checkpoint FILE
--public-key HEX export.ndjson`` checks its signature and that an event export reaches every
head of the exported tenant's streams, unchanged. The file holds stream ids, versions and
chain hashes only — no personal data — and is created mode 0600 all the same.
"""

from __future__ import annotations

import os

import asyncpg
import msgspec

from ledger.audit.checkpoints import heads, latest


async def export_checkpoint(pool: asyncpg.Pool, path: str) -> int | None:
    """Write the latest checkpoint to ``path``; its id (None when there is none)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoint = await latest(conn)
        if checkpoint is None:
            return None
        listed = [[str(stream_id), version, chain_hash.hex(), tenant_id]
                  async for stream_id, version, chain_hash, tenant_id
                  in heads(conn, checkpoint.checkpoint_id)]
    document = {
        "checkpoint_id": checkpoint.checkpoint_id,
        "created_at": checkpoint.created_at.isoformat(),
        "feed_transaction_id": checkpoint.feed_transaction_id,
        "feed_notification_id": checkpoint.feed_notification_id,
        "streams": checkpoint.streams,
        "heads_digest": checkpoint.heads_digest.hex(),
        "public_key": checkpoint.public_key.hex(),
        "signature": checkpoint.signature.hex(),
        "heads": listed,  # [stream id, version, chain_hash hex, tenant], in feed order
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(msgspec.json.encode(document) + b"\n")
    return checkpoint.checkpoint_id
