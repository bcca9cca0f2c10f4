"""``ledger redact-legacy``: make a placement stored in clear by an older release unreadable.

Such a case answers ``409 not_erasable`` to erasure: its debtor is in an event, and events are
append-only. This command, run by the schema owner (it briefly disables the append-only
trigger, which only the owner may), replaces that ``Placed`` event's personal fields with a
seal under a random key that is thrown away — exactly what an erased case holds — deletes the
case's snapshots, and records the redaction: the event's unchanged ``chain_hash`` and the
SHA-256 of the new state, signed with the checkpoint key (``redactions``). Verification
accepts that one row's stored hash because the signed record vouches for it; any other change
to the row is still reported. Then erase the case through the API as usual.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.audit.signing import public_bytes, signature_holds
from ledger.privacy.sealing import PLACED_TOPIC, DebtorCipher

CONTEXT = b"ledger-redaction-v1\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PLACEMENT_SQL = """
    SELECT tenant_id, state, chain_hash FROM stored_events
    WHERE originator_id = $1 AND originator_version = 1 AND topic = $2 FOR UPDATE
"""
INSERT_SQL = """
    INSERT INTO redactions (case_id, version, redacted_at, reason, chain_hash, state_sha256,
                            public_key, signature)
    VALUES ($1, 1, $2, $3, $4, $5, $6, $7)
"""
REDACTIONS_SQL = """
    SELECT case_id, version, redacted_at, chain_hash, state_sha256, public_key, signature
    FROM redactions WHERE ($1::uuid IS NULL OR case_id = $1)
"""


class NothingToRedact(Exception):
    """No such placement, or its debtor is sealed already."""


def redaction_message(case_id: UUID, version: int, chain_hash: bytes, state_sha256: bytes,
                      redacted_at: datetime) -> bytes:
    micros = (redacted_at - _EPOCH) // (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH)
    return (CONTEXT + case_id.bytes + version.to_bytes(8, "big") + chain_hash + state_sha256
            + micros.to_bytes(8, "big", signed=True))


async def redact_legacy(conn: asyncpg.Connection, key: Ed25519PrivateKey, case_id: UUID,
                        reason: str) -> None:
    """Redact the case's clear placement (as the schema owner); NothingToRedact otherwise."""
    async with conn.transaction():
        row = await conn.fetchrow(PLACEMENT_SQL, case_id, PLACED_TOPIC)
        if row is None:
            raise NothingToRedact(f"case {case_id} has no placement")
        tenant_id, state, chain_hash = row[0], bytes(row[1]), bytes(row[2])
        # A seal under a random key nobody keeps: reads then show the debtor as erased.
        redacted = DebtorCipher(None).seal(case_id, tenant_id, PLACED_TOPIC, state, None)  # type: ignore[arg-type]
        if redacted == state:
            raise NothingToRedact(f"the placement of case {case_id} is sealed already")
        await conn.execute("ALTER TABLE stored_events DISABLE TRIGGER stored_events_append_only")
        await conn.execute("UPDATE stored_events SET state = $3 WHERE originator_id = $1 "
                           "AND originator_version = $2", case_id, 1, redacted)
        await conn.execute("ALTER TABLE stored_events ENABLE TRIGGER stored_events_append_only")
        await conn.execute("DELETE FROM snapshots WHERE originator_id = $1", case_id)
        digest = hashlib.sha256(redacted).digest()
        now = datetime.now(UTC)
        signature = key.sign(redaction_message(case_id, 1, chain_hash, digest, now))
        await conn.execute(INSERT_SQL, case_id, now, reason, chain_hash, digest,
                           public_bytes(key), signature)


async def trusted_redactions(fetch: object, public_key: bytes | None,
                             case_id: UUID | None = None) -> dict[tuple[UUID, int], bytes]:
    """(case, version) → SHA-256 of the redacted state, for every redaction whose signature
    holds with its key, and whose key is ``public_key`` when one is given."""
    trusted: dict[tuple[UUID, int], bytes] = {}
    for row in await fetch(REDACTIONS_SQL, case_id):  # type: ignore[operator]
        case, version, at, chain_hash, digest, key, signature = row
        key = bytes(key)
        if public_key is not None and key != public_key:
            continue
        signed = redaction_message(case, version, bytes(chain_hash), bytes(digest), at)
        if signature_holds(Ed25519PublicKey.from_public_bytes(key), signed, bytes(signature)):
            trusted[(case, version)] = bytes(digest)
    return trusted
