"""Standard Webhooks signing: secrets, signatures and headers for anything Ledger POSTs out.

Used for deliveries to bank endpoints and for calls to SMS/email providers, so that every
receiver verifies Ledger the same way (https://www.standardwebhooks.com; the
``standardwebhooks`` package does the HMAC, we never hand-roll it).

Scheme: a secret is ``whsec_<base64 of 32 random bytes>``; a message is signed as
``v1,<base64 HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")>``; the three
headers are ``webhook-id`` (stable per message: a retry reuses it, receivers de-duplicate on
it), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``.

Rotation: while an old secret is still honoured, the message is signed with every live secret
and the signatures are sent space-separated (``v1,<new> v1,<old>``); a receiver holding either
secret accepts it. Order the secrets newest first.

Use::

    secret = new_secret()                       # show once, store only sealed
    headers = signature_headers("msg_123", body, [secret], at=now)
    request_headers = {**headers, "content-type": "application/json"}

    # receiver side (what a bank runs):
    standardwebhooks.Webhook(secret).verify(body, request_headers)
"""

from __future__ import annotations

import base64
import secrets as _random
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

__all__ = ["ID_HEADER", "SECRET_PREFIX", "SIGNATURE_HEADER", "TIMESTAMP_HEADER",
           "WebhookVerificationError", "is_secret", "new_secret", "sign", "signature_headers",
           "verify"]


def new_secret() -> str:
    """A fresh random signing secret, ``whsec_`` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode("ascii")


def is_secret(text: str) -> bool:
    """Whether ``text`` has the shape of a signing secret (prefix and non-empty base64)."""
    if not text.startswith(SECRET_PREFIX):
        return False
    try:
        return bool(base64.b64decode(text[len(SECRET_PREFIX):], validate=True))
    except ValueError:
        return False


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    # The package reads the wall clock fields as UTC, so hand it UTC.
    return at.astimezone(UTC)


def sign(message_id: str, body: bytes, secrets: Sequence[str], *, at: datetime) -> str:
    """The ``webhook-signature`` value: one ``v1,…`` per secret, space-separated, in order."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    text = body.decode("utf-8")
    when = _utc(at)
    return " ".join(Webhook(secret).sign(message_id, when, text) for secret in secrets)


def signature_headers(message_id: str, body: bytes, secrets: Sequence[str], *,
                      at: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent as ``message_id`` at ``at``.

    ``at`` defaults to now: the timestamp is the attempt's, so a retry hours later still
    passes the receivers' five-minute freshness check, while the id stays the same.
    """
    when = _utc(at or datetime.now(UTC))
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(when.timestamp())),
        SIGNATURE_HEADER: sign(message_id, body, secrets, at=when),
    }


def verify(body: bytes, headers: dict[str, str], secret: str) -> None:
    """Receiver-side check with the package (raises ``WebhookVerificationError``)."""
    Webhook(secret).verify(body, headers, json_parse=False)
