"""Bearer API keys: authentication middleware, per-key rate limit and role guards.

Looking a key up costs a database round trip, which would be a large share of a request's
budget; verified keys are therefore cached in the process for ``CACHE_SECONDS``. A key
revoked through the API is dropped from this process's cache at once; one revoked from the
CLI (another process) stops working within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from ledger.api.problems import ProblemError
from ledger.services.keys import DEFAULT_RATE_LIMIT, ApiKey, Role, find_key, hash_key

CACHE_SECONDS = 10.0
UNKNOWN_CACHE_SECONDS = 2.0
MAX_CACHE_ENTRIES = 10_000
SCHEME = "Bearer "


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


class KeyCache:
    """Verified keys by digest, with expiry; also holds each key's rate-limit bucket."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self._entries: dict[bytes, tuple[ApiKey | None, float]] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def get(self, digest: bytes, now: float) -> tuple[bool, ApiKey | None]:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < now:
            return False, None
        return True, entry[0]

    def put(self, digest: bytes, key: ApiKey | None, now: float) -> None:
        if len(self._entries) >= MAX_CACHE_ENTRIES:
            self._entries.clear()  # crude but bounded; a refill costs one query per key
        ttl = CACHE_SECONDS if key is not None else UNKNOWN_CACHE_SECONDS
        self._entries[digest] = (key, now + ttl)

    def forget(self, key_id: str) -> None:
        for digest, (key, _) in list(self._entries.items()):
            if key is not None and key.key_id == key_id:
                del self._entries[digest]

    def bucket(self, key: ApiKey) -> TokenBucket:
        bucket = self._buckets.get(key.key_id)
        rate = key.rate_limit or DEFAULT_RATE_LIMIT
        if bucket is None or bucket.rate != rate:
            if len(self._buckets) >= MAX_CACHE_ENTRIES:
                self._buckets.clear()
            bucket = self._buckets[key.key_id] = TokenBucket(rate)
        return bucket


class TokenBucket:
    """``rate`` requests per second on average, bursts up to two seconds' worth."""

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.capacity = float(2 * rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self, now: float) -> float:
        """0 when allowed, else the seconds until a token is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    """Resolves ``Authorization: Bearer <key>`` to the key; 401 if missing, unknown or revoked."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header or not header.startswith(SCHEME):
            raise _unauthorized("missing bearer API key")
        presented = header[len(SCHEME):].strip()
        state = connection.app.state
        cache: KeyCache = state.key_cache
        now = time.monotonic()
        digest = hash_key(presented, cache.secret)
        hit, key = cache.get(digest, now)
        if not hit:
            key = await find_key(state.pool, cache.secret, presented)
            cache.put(digest, key, now)
        if key is None or key.revoked_at is not None:
            raise _unauthorized("unknown or revoked API key")
        wait = cache.bucket(key).take(now)
        if wait > 0:
            raise ProblemError(
                429, "rate_limited", "this API key exceeded its request rate",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        return AuthenticationResult(user=key, auth=None)


def allow(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]:
    """Guard: the key's role is one of ``roles`` (admin may do everything); else 403."""
    allowed = frozenset(roles) | {Role.ADMIN}

    # A coroutine: litestar would run a plain function guard in a worker thread per request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        key: ApiKey = connection.user
        if key.role not in allowed:
            raise ProblemError(403, "forbidden", f"role {key.role} may not use this route")

    guard.__name__ = "allow_" + "_".join(sorted(allowed))
    return guard


# Who may do what (API.md, "Conventions"); every role may read single cases of its tenant.
EVERYONE = tuple(Role)
PLACEMENT = (Role.INTEGRATION,)
MONEY = (Role.INTEGRATION,)
AGENT_WORK = (Role.AGENT, Role.SUPERVISOR)
SHARED_WRITES = (Role.INTEGRATION, Role.AGENT, Role.SUPERVISOR)  # cease, disputes, holds
LIFECYCLE = (Role.INTEGRATION, Role.SUPERVISOR)  # closure, reopening
SUPERVISION = (Role.SUPERVISOR,)  # assignment, escalation, adjustments
FEED = (Role.INTEGRATION, Role.AUDITOR)
KEY_MANAGEMENT: tuple[Role, ...] = ()  # admin only
