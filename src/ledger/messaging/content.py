"""Message content (recipient, subject, body, name and address for letters) sealed with the
case's data key, so erasing the case (destroying the key) leaves none of it readable.

The sealed form is ``"m1:" + base64(nonce || AES-256-GCM ciphertext)`` with associated data
binding it to the case and tenant. It is what the ``MessageQueued`` event stores; nothing
holds the content in clear (PDFs are rendered on request).
"""

from __future__ import annotations

import base64
import os
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "m1:"
_NONCE_BYTES = 12
_AAD_CONTEXT = b"ledger:message:v1\x00"


class MessageContent(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    subject: str | None = None
    body: str
    debtor_name: str | None = None
    address: str | None = None


def _aad(case_id: UUID, tenant_id: str) -> bytes:
    return _AAD_CONTEXT + case_id.bytes + tenant_id.encode()


def seal_content(key: bytes, case_id: UUID, tenant_id: str, content: MessageContent) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, msgspec.json.encode(content), _aad(case_id, tenant_id))
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def open_content(key: bytes | None, case_id: UUID, tenant_id: str,
                 sealed: str) -> MessageContent | None:
    """The content, or None when the key is gone (erased) or the blob does not open."""
    if key is None or not sealed.startswith(_PREFIX):
        return None
    raw = base64.b64decode(sealed[len(_PREFIX):])
    try:
        plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:],
                                    _aad(case_id, tenant_id))
    except InvalidTag:
        return None
    return msgspec.json.decode(plain, type=MessageContent)
