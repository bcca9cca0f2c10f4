"""Provider requests are signed like webhooks (Standard Webhooks, ``ledger.webhooks.signing``):
``webhook-id`` (the message id, stable across attempts, for de-duplication),
``webhook-timestamp`` and ``webhook-signature``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from ledger.webhooks import signing

SECRET_PREFIX = signing.SECRET_PREFIX


def derived_secret(server_secret: bytes) -> str:
    """A ``whsec_`` secret derived from the server secret (when none is configured), so
    every process of one installation signs with the same one."""
    digest = hmac.new(server_secret, b"ledger:message-signing:v1", hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    return signing.signature_headers(message_id, body, [secret], at=at)


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """For receivers (the fake provider): is the signature valid and the timestamp fresh?"""
    try:
        signing.verify(body, headers, secret)
    except Exception:  # the package raises its own error types for every refusal
        return False
    return True
