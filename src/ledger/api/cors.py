"""``OPTIONS`` on every route, and CORS for the origins listed in ``LEDGER_CORS_ORIGINS``.

``OPTIONS`` is answered here, before authentication, guards and handlers: ``204`` with the
route's ``Allow`` header (litestar's automatic handler ran the route's guards without a key —
a ``500`` — and its ``Allow`` missed methods of a path shared by two controllers). A browser's
preflight from a listed origin also gets ``Access-Control-Allow-*``; from any other origin it
gets only ``Allow``, so the browser refuses the real request (no origin is listed by default).

Real requests from a listed origin get ``Access-Control-Allow-Origin`` at the edge
(``ledger.api.edge``), so errors answered outside the middleware stack (``401``, ``404``,
``429``) carry it too: a browser client can then read why it was refused.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

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


class OptionsMiddleware:
    """Answers every ``OPTIONS`` request with ``204`` and ``Allow`` (and CORS if allowed).

    A plain ASGI callable, not litestar's ``ASGIMiddleware``: it sits in every route's stack
    and costs other methods one comparison."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
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


def cors_headers(scope: Scope, allowed: frozenset[str]) -> list[tuple[bytes, bytes]]:
    """The headers a response gets when some origin is listed: ``Vary: Origin`` always (caches
    must not serve one origin's answer to another), and to a listed origin leave to read it."""
    headers = [(b"vary", b"Origin")]
    origin = _header(scope, b"origin")
    if origin is not None and origin in allowed:
        headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        if scope.get("method") != "OPTIONS":
            headers.append((b"access-control-expose-headers", EXPOSED_HEADERS.encode()))
    return headers
