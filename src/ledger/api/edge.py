"""The edge of the application: what every HTTP request gets, done once, outside litestar.

Every response carries ``X-Request-Id``; successful writes under ``/v1`` carry
``Ledger-Position``; the docs and dashboard pages carry their security headers; responses to a
listed CORS origin say it may read them; and each request is logged and measured after its
response was sent (``request_log``). These used to be three middlewares and three
``before_send`` hooks, each wrapping ``send`` again: together a quarter of a case read's CPU
time (bench/README.md, "Case GET, third round"). Here they are one wrapper of ``send`` around
the whole application, so they also see the answers litestar gives outside any route (``404``,
``405``, ``401`` and ``429`` from the authentication middleware, errors turned into problems).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Litestar
from litestar.types import Message, Receive, Scope, Send

from ledger.api.api_docs import security_headers
from ledger.api.commands import REQUEST_ID
from ledger.api.cors import cors_headers
from ledger.api.read_side import POSITION_HEADER, WRITE_METHODS, feed_head
from ledger.api.request_log import CLIENT_CLOSED, log_request
from ledger.eventstore.appended import track_appends

REPLAYED_HEADER = b"idempotency-replayed"
POSITIONED_PREFIX = "/v1/"
"""Writes that append events live under ``/v1``; the dashboard's sign-in form does not."""


class LedgerApp(Litestar):
    """Litestar with Ledger's edge around every HTTP request (see the module's docstring)."""

    cors_origins: frozenset[str] = frozenset()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await _Exchange(self, scope).run(receive, send)


class _Exchange:
    """One request and its response, as the edge sees them."""

    __slots__ = ("app", "scope", "started", "request_id", "appended", "status", "replayed", "gone")

    def __init__(self, app: LedgerApp, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.started = time.perf_counter()
        request_id = uuid.uuid4()
        scope.setdefault("state", {})[REQUEST_ID] = request_id  # type: ignore[typeddict-item]
        self.request_id = str(request_id)
        writes = scope["method"] in WRITE_METHODS and scope["path"].startswith(POSITIONED_PREFIX)
        self.appended = track_appends() if writes else None
        self.status = 500
        self.replayed = False
        self.gone = False

    async def run(self, receive: Receive, send: Send) -> None:
        async def observing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.gone = True
            return message

        async def decorating_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = await self._headers(message)  # type: ignore[typeddict-unknown-key]
            await send(message)

        try:
            await Litestar.__call__(self.app, self.scope, observing_receive, decorating_send)
        finally:
            if self.gone and self.status >= 500:
                self.status = CLIENT_CLOSED
            log_request(self.scope, self.request_id, self.status, self.replayed,
                        time.perf_counter() - self.started)

    async def _headers(self, message: Message) -> list[tuple[bytes, bytes]]:
        self.status = status = message["status"]  # type: ignore[typeddict-item]
        headers = list(message.get("headers") or ())
        self.replayed = any(name.lower() == REPLAYED_HEADER for name, _ in headers)
        headers.append((b"x-request-id", self.request_id.encode()))
        scope = self.scope
        if self.appended is not None and status < 400:
            position = max(self.appended) if self.appended else await feed_head(self.app)
            headers.append((POSITION_HEADER, str(position).encode()))
        extra = security_headers(scope["path"])
        if extra:
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in extra if name not in present]
        if self.app.cors_origins:
            headers += cors_headers(scope, self.app.cors_origins)
        return headers
