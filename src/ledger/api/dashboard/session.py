"""Dashboard sessions: a signed, expiring cookie naming the API key that signed in.

The cookie holds no secret of the key, only its id, tenant and role, an expiry and a CSRF
token, signed with HMAC-SHA256 under a key derived from the server secret. Every page
re-checks that the key still exists and is not revoked, so revoking a key ends its sessions.
The cookie is HttpOnly, SameSite=Strict, limited to ``/dashboard``, and Secure over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import msgspec

COOKIE = "ledger_dashboard"
LIFETIME_SECONDS = 8 * 3600
PATH = "/dashboard"


class Session(msgspec.Struct, frozen=True):
    key_id: str
    tenant_id: str
    role: str
    expires: int
    csrf: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Makes and checks session cookie values."""

    def __init__(self, server_secret: bytes) -> None:
        self._key = hmac.digest(server_secret, b"ledger-dashboard-session-v1", "sha256")

    def _sign(self, payload: bytes) -> bytes:
        return hmac.digest(self._key, payload, "sha256")

    def issue(self, key_id: str, tenant_id: str, role: str, now: float | None = None) -> tuple[str, Session]:
        moment = time.time() if now is None else now
        session = Session(key_id, tenant_id, role, int(moment) + LIFETIME_SECONDS,
                          secrets.token_urlsafe(24))
        payload = msgspec.json.encode(session)
        return f"{_b64(payload)}.{_b64(self._sign(payload))}", session

    def read(self, value: str | None, now: float | None = None) -> Session | None:
        """The session in ``value``; None when absent, tampered with, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        try:
            payload, presented = _unb64(body), _unb64(signature)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(payload), presented):
            return None
        try:
            session = msgspec.json.decode(payload, type=Session)
        except msgspec.ValidationError:
            return None
        moment = time.time() if now is None else now
        return session if session.expires > moment else None


def csrf_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(
        hashlib.sha256(session.csrf.encode()).digest(),
        hashlib.sha256(str(presented).encode()).digest())
