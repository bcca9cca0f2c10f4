"""Per-case data keys: created with the placement, wrapped by the master key, destroyed on erasure.

Unwrapped keys are cached in the process for ``CACHE_SECONDS`` so that a burst of reads of one
case (a history or feed walk) costs one key query, not one per page. The window is kept short
because it is how long another process may still decrypt after an erasure elsewhere (erasure
in this process drops the entry at once; the case view shows an erased case as erased anyway,
because it applies the ``PersonalDataErased`` event). Case loads by the API mostly hit its case
cache and fetch no key at all, so the short window costs little.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.privacy.master import master_key_id

CACHE_SECONDS = 2.0
MAX_CACHE_ENTRIES = 100_000
_NONCE_BYTES = 12
_WRAP_CONTEXT = b"ledger:data-key:v1\x00"

# Insert new keys; for a case that already has a row return that row's key instead (a
# concurrent placement of the same case must encrypt with the key that is kept). The no-op
# update is what makes RETURNING yield the existing row, even one committed concurrently.
CREATE_KEYS_SQL = """
    INSERT INTO data_keys (case_id, tenant_id, wrapped_key, master_key_id)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[])
    ON CONFLICT (case_id) DO UPDATE SET tenant_id = data_keys.tenant_id
    RETURNING case_id, tenant_id, wrapped_key, master_key_id
"""
GET_KEYS_SQL = """
    SELECT case_id, tenant_id, wrapped_key, master_key_id FROM data_keys
    WHERE case_id = ANY($1::uuid[])
"""
DESTROY_KEY_SQL = """
    UPDATE data_keys SET wrapped_key = NULL, destroyed_at = now()
    WHERE case_id = $1 AND tenant_id = $2 AND wrapped_key IS NOT NULL
"""

Fetch = Callable[..., Awaitable[list[Any]]]


class MasterKeyMismatch(RuntimeError):
    """A data key was wrapped by another master key (wrong LEDGER_MASTER_KEY?)."""


def _wrap_aad(case_id: UUID, tenant_id: str) -> bytes:
    # Binds a wrapped key to its case and tenant: a row copied onto another case won't unwrap.
    return _WRAP_CONTEXT + case_id.bytes + tenant_id.encode()


class DataKeys:
    """Creates, unwraps (cached) and destroys data keys through ``fetch`` (the store's)."""

    def __init__(self, fetch: Fetch, master_key: bytes) -> None:
        self._fetch = fetch
        self._master = AESGCM(master_key)
        self._master_id = master_key_id(master_key)
        self._cache: dict[UUID, tuple[bytes | None, float]] = {}

    def _wrap(self, case_id: UUID, tenant_id: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, _wrap_aad(case_id, tenant_id))

    def _unwrap(self, row: Any) -> bytes | None:
        case_id, tenant_id, wrapped, key_id = row
        if wrapped is None:
            return None  # destroyed: the personal data is erased
        if key_id != self._master_id:
            raise MasterKeyMismatch(f"data key of {case_id} was wrapped by master key {key_id}")
        wrapped = bytes(wrapped)
        try:
            return self._master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:],
                                        _wrap_aad(case_id, tenant_id))
        except InvalidTag:
            raise MasterKeyMismatch(f"data key of {case_id} does not unwrap") from None

    # Public names for the master-key rotation (ledger.privacy.rotation).
    def wrap(self, case_id: UUID, tenant_id: str, key: bytes) -> bytes:
        return self._wrap(case_id, tenant_id, key)

    def unwrap_row(self, row: Any) -> bytes | None:
        return self._unwrap(row)

    def _remember(self, case_id: UUID, key: bytes | None, now: float) -> None:
        if len(self._cache) >= MAX_CACHE_ENTRIES:
            self._cache.clear()  # bounded; a refill costs one batched query
        self._cache[case_id] = (key, now + CACHE_SECONDS)

    async def create(self, streams: Mapping[UUID, str]) -> dict[UUID, bytes | None]:
        """Keys for new streams (case id → tenant), in one statement; an existing case keeps
        its key (None when destroyed)."""
        ids, tenants, wrapped, key_ids = [], [], [], []
        for case_id, tenant_id in streams.items():
            ids.append(case_id)
            tenants.append(tenant_id)
            wrapped.append(self._wrap(case_id, tenant_id, AESGCM.generate_key(bit_length=256)))
            key_ids.append(self._master_id)
        rows = await self._fetch(CREATE_KEYS_SQL, ids, tenants, wrapped, key_ids)
        now = time.monotonic()
        keys = {}
        for row in rows:
            keys[row[0]] = key = self._unwrap(row)
            self._remember(row[0], key, now)
        return keys

    async def get(self, case_ids: Collection[UUID]) -> dict[UUID, bytes | None]:
        """The unwrapped key of each case (None: destroyed or never had one)."""
        now = time.monotonic()
        keys: dict[UUID, bytes | None] = {}
        missing = []
        for case_id in case_ids:
            entry = self._cache.get(case_id)
            if entry is not None and entry[1] >= now:
                keys[case_id] = entry[0]
            else:
                missing.append(case_id)
        if missing:
            for row in await self._fetch(GET_KEYS_SQL, missing):
                keys[row[0]] = key = self._unwrap(row)
                self._remember(row[0], key, now)
            for case_id in missing:
                keys.setdefault(case_id, None)
        return keys

    async def get_openable(self, case_ids: Collection[UUID]) -> dict[UUID, bytes | None]:
        """Like ``get``, in one query, but a key wrapped by another master key reads as None
        instead of failing the whole call (for workers that must skip such cases)."""
        try:
            return await self.get(case_ids)
        except MasterKeyMismatch:
            pass
        keys: dict[UUID, bytes | None] = dict.fromkeys(case_ids)
        for row in await self._fetch(GET_KEYS_SQL, list(case_ids)):
            try:
                keys[row[0]] = self._unwrap(row)
            except MasterKeyMismatch:
                keys[row[0]] = None
        return keys

    async def destroy(self, case_id: UUID, tenant_id: str, execute: Fetch | None = None) -> None:
        """Destroy the case's key (idempotent); ``execute`` runs it inside a caller's transaction."""
        await (execute or self._fetch)(DESTROY_KEY_SQL, case_id, tenant_id)
        self.forget(case_id)

    def forget(self, case_id: UUID) -> None:
        self._cache.pop(case_id, None)
