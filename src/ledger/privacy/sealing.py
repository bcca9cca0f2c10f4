"""Envelope encryption of the debtor's personal fields inside stored states.

In a stored ``Placed`` event (and in a snapshot of a case) the debtor object keeps its
``timezone`` and ``jurisdiction`` in clear — compliance rules and projections need them — and
carries its personal fields (name, phones, emails, address) only as::

    "debtor": {"timezone": "...", "jurisdiction": "...", "sealed": "v1:<base64 nonce||ciphertext>"}

The ciphertext is AES-256-GCM under the case's data key, with a fresh random 96-bit nonce per
encryption and associated data binding it to the case id and tenant (a sealed blob copied into
another case does not open). Opening without a key (destroyed by erasure) yields the debtor
with those fields absent and ``"erased": true``. States of other topics pass through untouched.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Collection, Mapping
from typing import Any
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from ledger.domain.case import Case
from ledger.privacy.keys import DataKeys

PLACED_TOPIC = get_topic(Case.Placed)
SNAPSHOT_TOPIC = get_topic(Snapshot)
PERSONAL_FIELDS = ("name", "phones", "emails", "address")
SEALED = "sealed"
_PREFIX = "v1:"
_NONCE_BYTES = 12
_AAD_CONTEXT = b"ledger:debtor:v1\x00"


def _aad(case_id: UUID, tenant_id: str) -> bytes:
    return _AAD_CONTEXT + case_id.bytes + tenant_id.encode()


def _debtor_fields(topic: str, document: Any) -> dict[str, Any] | None:
    """The dict holding the debtor's fields in a decoded state, if there is one."""
    if not isinstance(document, dict):
        return None
    if topic == PLACED_TOPIC:
        debtor = document.get("debtor")
        return debtor if isinstance(debtor, dict) else None
    state = document.get("state")
    debtor = state.get("debtor") if isinstance(state, dict) else None
    # Snapshot states tag objects: {"__t": "object", "topic": ..., "v": {fields}}.
    if isinstance(debtor, dict) and isinstance(debtor.get("v"), dict):
        return debtor["v"]  # type: ignore[no-any-return]
    return None


class DebtorCipher:
    """The ``StreamCipher`` of Ledger: seals debtor personal data with per-case data keys."""

    topics = frozenset({PLACED_TOPIC, SNAPSHOT_TOPIC})

    def __init__(self, data_keys: DataKeys) -> None:
        self.data_keys = data_keys

    async def keys_for_writing(self, streams: Mapping[UUID, str]) -> Mapping[UUID, Any]:
        return await self.data_keys.create(streams)

    async def keys(self, originator_ids: Collection[UUID]) -> Mapping[UUID, Any]:
        return await self.data_keys.get(originator_ids)

    def seal(self, originator_id: UUID, tenant_id: str, topic: str, state: bytes,
             key: bytes | None) -> bytes:
        document = msgspec.json.decode(state)
        debtor = _debtor_fields(topic, document)
        if debtor is None or SEALED in debtor:
            return state
        personal = {name: debtor.pop(name) for name in PERSONAL_FIELDS if name in debtor}
        debtor.pop("erased", None)
        if key is None:
            # The case's key was destroyed (a re-placement of an erased case, which the
            # append will refuse anyway): seal with a key nobody keeps.
            key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, msgspec.json.encode(personal),
                                         _aad(originator_id, tenant_id))
        debtor[SEALED] = _PREFIX + base64.b64encode(nonce + ciphertext).decode("ascii")
        return msgspec.json.encode(document)

    def open(self, originator_id: UUID, tenant_id: str, topic: str, state: bytes,
             key: bytes | None) -> bytes:
        document = msgspec.json.decode(state)
        debtor = _debtor_fields(topic, document)
        if debtor is None or SEALED not in debtor:
            return state  # nothing sealed (a state written before encryption existed)
        sealed = debtor.pop(SEALED)
        personal = None
        if key is not None and isinstance(sealed, str) and sealed.startswith(_PREFIX):
            raw = base64.b64decode(sealed[len(_PREFIX):])
            try:
                personal = msgspec.json.decode(AESGCM(key).decrypt(
                    raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(originator_id, tenant_id)))
            except InvalidTag:
                personal = None  # sealed under a key that no longer exists
        if personal is None:
            debtor["erased"] = True
        else:
            debtor.update(personal)
        return msgspec.json.encode(document)
