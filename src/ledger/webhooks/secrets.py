"""Signing secrets at rest: wrapped under the master key, never stored in clear.

A secret is shown once (on registration or rotation) and kept only as
``nonce || AES-256-GCM(master key, secret)`` with associated data binding it to its endpoint,
secret id and tenant (a row copied elsewhere does not open). Unwrapped secrets are cached in
the deliverer's memory: signing 1,000s of messages a second must not cost a query each.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from uuid import UUID

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.privacy.keys import MasterKeyMismatch
from ledger.privacy.master import master_key_id

INSERT_SQL = """
    INSERT INTO webhook_secrets (secret_id, endpoint_id, tenant_id, wrapped, master_key_id)
    VALUES ($1, $2, $3, $4, $5)
"""
GET_SQL = """
    SELECT secret_id, endpoint_id, tenant_id, wrapped, master_key_id FROM webhook_secrets
    WHERE secret_id = ANY($1::uuid[])
"""
UNDER_KEY_SQL = """
    SELECT secret_id, endpoint_id, tenant_id, wrapped FROM webhook_secrets
    WHERE master_key_id = $1 FOR UPDATE
"""
REWRAP_SQL = """
    UPDATE webhook_secrets SET wrapped = u.wrapped, master_key_id = $3
    FROM unnest($1::uuid[], $2::bytea[]) AS u(secret_id, wrapped)
    WHERE webhook_secrets.secret_id = u.secret_id
"""
_NONCE = 12
_CONTEXT = b"ledger:webhook-secret:v1\x00"


def _aad(secret_id: UUID, endpoint_id: UUID, tenant_id: str) -> bytes:
    return _CONTEXT + secret_id.bytes + endpoint_id.bytes + tenant_id.encode()


class SecretVault:
    """Stores and opens endpoint secrets with the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)
        self._key_id = master_key_id(master_key)
        self._cache: dict[UUID, str] = {}

    def _seal(self, secret_id: UUID, endpoint_id: UUID, tenant_id: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, secret.encode("ascii"),
                                          _aad(secret_id, endpoint_id, tenant_id))

    def _open(self, secret_id: UUID, endpoint_id: UUID, tenant_id: str, wrapped: bytes) -> str:
        raw = bytes(wrapped)
        try:
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:],
                                       _aad(secret_id, endpoint_id, tenant_id))
        except InvalidTag:
            raise MasterKeyMismatch(f"webhook secret {secret_id} does not open") from None
        return plain.decode("ascii")

    async def put(self, conn: asyncpg.Connection | asyncpg.Pool, secret_id: UUID,
                  endpoint_id: UUID, tenant_id: str, secret: str) -> None:
        wrapped = self._seal(secret_id, endpoint_id, tenant_id, secret)
        await conn.execute(INSERT_SQL, secret_id, endpoint_id, tenant_id, wrapped, self._key_id)
        self._cache[secret_id] = secret

    async def get(self, conn: asyncpg.Connection | asyncpg.Pool,
                  secret_ids: Iterable[UUID]) -> dict[UUID, str]:
        """The secrets by id (unknown ids are absent)."""
        wanted = list(secret_ids)
        found = {sid: self._cache[sid] for sid in wanted if sid in self._cache}
        missing = [sid for sid in wanted if sid not in found]
        if missing:
            for secret_id, endpoint_id, tenant_id, wrapped, key_id in await conn.fetch(
                    GET_SQL, missing):
                if key_id != self._key_id:
                    raise MasterKeyMismatch(f"webhook secret {secret_id} has another master key")
                found[secret_id] = self._cache[secret_id] = self._open(
                    secret_id, endpoint_id, tenant_id, wrapped)
        return found


async def rotate_secrets(pool: asyncpg.Pool, old_key: bytes, new_key: bytes) -> int:
    """Re-wrap every endpoint secret still under ``old_key`` with ``new_key`` (``ledger keys
    rotate-master``, after the data keys); the number re-wrapped. One transaction: an
    endpoint has one or two secrets. Run again, it finds nothing left under the old key."""
    old, new = SecretVault(old_key), SecretVault(new_key)
    async with pool.acquire() as conn, conn.transaction():
        ids, wrapped = [], []
        for secret_id, endpoint_id, tenant_id, sealed in await conn.fetch(
                UNDER_KEY_SQL, master_key_id(old_key)):
            ids.append(secret_id)
            wrapped.append(new._seal(secret_id, endpoint_id, tenant_id,
                                     old._open(secret_id, endpoint_id, tenant_id, sealed)))
        if ids:
            await conn.execute(REWRAP_SQL, ids, wrapped, master_key_id(new_key))
    return len(ids)
