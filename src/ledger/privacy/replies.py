"""Stored idempotency replies never hold a debtor's personal data in clear.

A placement's reply (and any other reply that carries a ``debtor`` object) is kept for 48 h to
be replayed. Before it is stored, the debtor's personal fields (name, phones, emails, address)
are sealed with the case's data key — the same key as the placement itself (AES-256-GCM, a
fresh nonce, associated data binding it to the reply context, case and tenant). A replay opens
them again; after erasure the key is gone, so the replay still answers the first status with
the personal fields ``null`` and ``erased: true``. Erasure therefore leaves idempotency records
in place: a retry after erasure is still a replay and records nothing twice.
"""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.privacy.keys import DataKeys

SEALED = "sealed"
PERSONAL = {"name": None, "phones": None, "emails": None, "address": None}
_PREFIX = "r1:"
_NONCE_BYTES = 12
_AAD_CONTEXT = b"ledger:reply:v1\x00"


def _aad(case_id: UUID, tenant_id: str) -> bytes:
    return _AAD_CONTEXT + case_id.bytes + tenant_id.encode()


def _debtor_of(response: bytes) -> tuple[dict[str, Any], dict[str, Any], UUID] | None:
    """(document, its debtor object, case id) when the reply carries a debtor."""
    if b'"debtor"' not in response:
        return None  # most replies (fact results, imports): no JSON parse at all
    try:
        document = msgspec.json.decode(response)
    except msgspec.DecodeError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("debtor"), dict):
        return None
    try:
        case_id = UUID(str(document.get("case_id")))
    except ValueError:
        return None
    return document, document["debtor"], case_id


def redact(debtor: dict[str, Any]) -> None:
    """The debtor as erasure leaves it: personal fields null, ``erased`` true."""
    debtor.pop(SEALED, None)
    debtor.update(PERSONAL)
    debtor["erased"] = True


class ReplySealer:
    """Seals and opens the personal fields of stored replies (the store's ``reply_sealer``)."""

    def __init__(self, data_keys: DataKeys) -> None:
        self.data_keys = data_keys

    async def seal(self, tenant_id: str, response: bytes) -> bytes:
        found = _debtor_of(response)
        if found is None:
            return response
        document, debtor, case_id = found
        if SEALED in debtor:
            return response
        # create() returns the existing key of a case (or makes the placement's key early:
        # the placement's own append then finds and uses the same one).
        key = (await self.data_keys.create({case_id: tenant_id})).get(case_id)
        personal = {name: debtor.pop(name) for name in (*PERSONAL, "erased") if name in debtor}
        if key is None:
            redact(debtor)
        else:
            nonce = os.urandom(_NONCE_BYTES)
            ciphertext = AESGCM(key).encrypt(nonce, msgspec.json.encode(personal),
                                             _aad(case_id, tenant_id))
            debtor[SEALED] = _PREFIX + base64.b64encode(nonce + ciphertext).decode("ascii")
        return msgspec.json.encode(document)

    async def open(self, tenant_id: str, response: bytes) -> bytes:
        found = _debtor_of(response)
        if found is None or SEALED not in found[1]:
            return response
        document, debtor, case_id = found
        sealed = debtor.pop(SEALED)
        key = (await self.data_keys.get([case_id])).get(case_id)
        personal = None
        if key is not None and isinstance(sealed, str) and sealed.startswith(_PREFIX):
            raw = base64.b64decode(sealed[len(_PREFIX):])
            try:
                personal = msgspec.json.decode(AESGCM(key).decrypt(
                    raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(case_id, tenant_id)))
            except InvalidTag:
                personal = None
        if isinstance(personal, dict):
            debtor.update(personal)
        else:
            redact(debtor)
        # The reply's own field order: personal fields first, ``erased`` last (as rendered).
        ordered = {name: debtor[name] for name in PERSONAL if name in debtor}
        ordered.update((name, value) for name, value in debtor.items() if name not in ordered)
        ordered["erased"] = ordered.pop("erased", False)
        document["debtor"] = ordered
        return msgspec.json.encode(document)
