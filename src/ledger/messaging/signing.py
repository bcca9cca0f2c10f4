"""Provider requests are signed like webhooks (Standard Webhooks): ``webhook-id`` (the
message id, stable across attempts, for de-duplication), ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``).

The one place that calls the ``standardwebhooks`` package for messages; switch to the shared
webhook signing module once it exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def derived_secret(server_secret: bytes) -> str:
    """A ``whsec_`` secret derived from the server secret (when none is configured), so
    every process of one installation signs with the same one."""
    digest = hmac.new(server_secret, b"ledger:message-signing:v1", hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """For receivers (the fake provider): is the signature valid and the timestamp fresh?"""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except Exception:  # the package raises its own error types for every refusal
        return False
    return True
