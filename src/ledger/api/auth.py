"""Bearer API keys: authentication middleware, per-key rate limit and role checks.

Verified keys are cached in the process and revocations heard at once (``key_cache``).

Key checks do not reveal which prefixes exist: a presented key is hashed with the server
secret and looked up by its digest, the same work for any well-formed key.

Guessing is limited per client (``FailureLimiter``): after ``auth_failures_per_minute`` failed
key checks (default 20, refilled over a minute) a client's further failures, and its uncached key
checks, are ``429`` with ``Retry-After`` without a database lookup.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from litestar.types import ASGIApp, Receive, Scope, Send

from ledger.api.key_cache import KeyCache
from ledger.api.problems import ProblemError
from ledger.services.keys import ApiKey, Role, find_key, hash_key

if TYPE_CHECKING:
    from litestar import Litestar

SCHEME = "Bearer "


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def retry_after(wait: float) -> str:
    """``Retry-After`` for a wait in seconds: whole seconds, at least one."""
    return str(max(1, round(wait + 0.5)))


def _too_many_failures(wait: float) -> ProblemError:
    return ProblemError(
        429, "rate_limited", "too many failed authentications from this client; retry later",
        headers={"Retry-After": retry_after(wait)},
    )


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":  # ASGI servers give header names in lower case
            return value.decode("latin-1")
    return None


class ApiKeyMiddleware:
    """Resolves ``Authorization: Bearer <key>`` to the key; 401 if missing, unknown or revoked.

    A plain ASGI callable rather than litestar's ``AbstractAuthenticationMiddleware``, which
    builds a connection object and its parsed headers on every request to read one header.
    Like it, this sets ``scope["user"]`` (``request.user``) and honours the route option
    ``exclude_from_auth``; ``OPTIONS`` is answered before it (``ledger.api.cors``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["route_handler"].opt.get(EXCLUDE_OPT):
            scope["user"] = await authenticate(scope)
            scope["auth"] = None
        await self.app(scope, receive, send)


async def authenticate(scope: Scope) -> ApiKey:
    """The key of this request, allowed to use its route; else the ``401``/``403``/``429``."""
    header = _authorization(scope)
    # The scheme's name is case-insensitive (RFC 9110 §11.1): "bearer" is "Bearer".
    if not header or header[:len(SCHEME)].lower() != SCHEME.lower():
        raise _unauthorized("missing bearer API key")
    presented = header[len(SCHEME):].strip()
    state = scope["litestar_app"].state
    cache: KeyCache = state.key_cache
    now = time.monotonic()
    cache.ensure_listening(state.pool)
    digest = hash_key(presented, cache.secret)
    hit, key = cache.get(digest, now)
    client = client_of(scope)
    if not hit:
        blocked = cache.failures.wait(client, now)
        if blocked > 0 and digest not in cache:
            # This client is guessing: no lookups of keys never seen valid, for now.
            raise _too_many_failures(blocked)
        generation = cache.generation
        key = await find_key(state.pool, cache.secret, presented)
        cache.put(digest, key, now, generation)
    if key is None or key.revoked_at is not None:
        blocked = cache.failures.fail(client, now)
        if blocked > 0:
            raise _too_many_failures(blocked)
        raise _unauthorized("unknown or revoked API key")
    wait = cache.bucket(key).take(now)
    if wait > 0:
        raise ProblemError(
            429, "rate_limited", "this API key exceeded its request rate",
            headers={"Retry-After": retry_after(wait)},
        )
    allowed = scope["route_handler"].opt.get(ROLES_OPT)
    if allowed is not None and key.role not in allowed:
        scope["user"] = key  # the request log names who was refused
        raise ProblemError(403, "forbidden", f"role {key.role} may not use this route")
    return key


EXCLUDE_OPT = "exclude_from_auth"
ROLES_OPT = "roles"


def allow(*roles: Role) -> dict[str, frozenset[Role]]:
    """Route option: the key's role must be one of ``roles`` (admin may do everything); else 403.

    Given as a handler's or controller's ``opt``; ``ApiKeyMiddleware`` checks it right after
    authenticating the key. Not a litestar guard: litestar copies the route handler for every
    guard call, a cost on every request.
    """
    return {ROLES_OPT: frozenset(roles) | {Role.ADMIN}}


def check_roles_are_enforced(app: Litestar) -> None:
    """Refuse to build an app where a route names roles but is not behind ``ApiKeyMiddleware``
    (the roles would silently not be checked)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if ROLES_OPT not in handler.opt:
                continue
            middleware = [getattr(m, "middleware", m) for m in handler.resolve_middleware()]
            if ApiKeyMiddleware not in middleware:
                raise RuntimeError(f"{handler} names roles but is not authenticated")


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
