"""``OPTIONS`` on every route, and CORS for the origins listed in ``LEDGER_CORS_ORIGINS``.

``OPTIONS`` is answered here, before authentication, guards and handlers: ``204`` with the
route's ``Allow`` header (litestar's automatic handler ran the route's guards without a key —
a ``500`` — and its ``Allow`` missed methods of a path shared by two controllers). A browser's
preflight from a listed origin also gets ``Access-Control-Allow-*``; from any other origin it
gets only ``Allow``, so the browser refuses the real request (no origin is listed by default).

Real requests from a listed origin get ``Access-Control-Allow-Origin`` in a ``before_send``
hook, so errors answered outside the middleware stack (``401``, ``404``, ``429``) carry it too:
a browser client can then read why it was refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match"
EXPOSED_HEADERS = ("ETag, Location, Retry-After, X-Request-Id, Idempotency-Replayed, "
                   "Ledger-Position, WWW-Authenticate")
PREFLIGHT_MAX_AGE = "600"
"""Seconds a browser may reuse a preflight answer."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def allowed_methods(scope: Scope) -> list[str]:
    """The methods of the route ``scope`` was routed to (OPTIONS included), sorted."""
    template = scope.get("path_template")
    methods = {"OPTIONS"}
    for route in scope["app"].routes:
        if route.path_format == template:
            methods |= set(getattr(route, "methods", ()))
    return sorted(methods)


class OptionsMiddleware(ASGIMiddleware):
    """Answers every ``OPTIONS`` request with ``204`` and ``Allow`` (and CORS if allowed)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = frozenset(origins)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] != "OPTIONS":
            await next_app(scope, receive, send)
            return
        methods = ", ".join(allowed_methods(scope))
        headers = [(b"allow", methods.encode())]
        origin = _header(scope, b"origin")
        if origin in self.origins and _header(scope, b"access-control-request-method"):
            headers += [
                (b"access-control-allow-methods", methods.encode()),
                (b"access-control-allow-headers", ALLOWED_REQUEST_HEADERS.encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def cors_response_headers(origins: tuple[str, ...]) -> Callable[[Message, Scope], Awaitable[None]]:
    """``before_send`` hook: responses to a listed origin say it may read them (install it only
    when some origin is listed)."""
    allowed = frozenset(origins)

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("type") != ScopeType.HTTP:
            return
        headers = MutableScopeHeaders.from_message(message)
        headers.add("Vary", "Origin")  # caches must not serve one origin's answer to another
        origin = _header(scope, b"origin")
        if origin is not None and origin in allowed:
            headers["Access-Control-Allow-Origin"] = origin
            if scope.get("method") != "OPTIONS":
                headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS

    return add
