"""One structured log line and the request metrics per HTTP request, and idempotent replays.

The line carries what an operator correlates on — request id (also the ``X-Request-Id``
response header and the events' correlation id), tenant, API key id, method, route template,
status and latency — and deliberately nothing else: no bodies (debtor names, phones and
amounts live there), no query strings, no headers (the ``Authorization`` header *is* the key),
and the route *template* rather than the path (paths carry external references).
"""

from __future__ import annotations

import time
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.commands import request_id
from ledger.observability.logs import LineLogger
from ledger.observability.metrics import IDEMPOTENT_REPLAYS, observe_request

log = LineLogger("ledger.requests")
REPLAYED_HEADER = b"idempotency-replayed"
CLIENT_CLOSED = 499
"""Status logged for a request whose client went away before its body was read (nginx's
convention): litestar raises a 500 for it, which no one receives and which is not our fault."""


def _route(scope: Scope) -> str:
    return str(scope.get("path_template") or "unmatched")


class RequestLogMiddleware(ASGIMiddleware):
    """Logs and measures each HTTP request after its response was sent.

    One middleware does both because both need the same route, status and latency, and this
    runs on every request: litestar's Prometheus middleware would rebuild the URL and labels a
    second time.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        request_id(scope)  # made now, so the line of a request refused by a middleware has it too
        response: dict[str, Any] = {"status": 500, "replayed": False, "gone": False}

        async def observing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                response["gone"] = True
            return message

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["replayed"] = any(
                    name.lower() == REPLAYED_HEADER for name, _ in message.get("headers", ()))
            await send(message)

        try:
            await next_app(scope, observing_receive, observing_send)
        except Exception as error:
            # Raised by an inner middleware (authentication, rate limit): litestar turns it into
            # a response outside this middleware, with the error's status.
            response["status"] = getattr(error, "status", None) or getattr(
                error, "status_code", 500)
            raise
        finally:
            if response["gone"] and response["status"] >= 500:
                response["status"] = CLIENT_CLOSED
            self._log(scope, response, time.perf_counter() - started)

    @staticmethod
    def _log(scope: Scope, response: dict[str, Any], seconds: float) -> None:
        route = _route(scope)
        status = response["status"]
        if route != "unmatched" and route != "/metrics":
            observe_request(str(scope.get("method")), route, status, seconds)
        if response["replayed"]:
            IDEMPOTENT_REPLAYS.labels(route).inc()
        if route == "/metrics" or route in ("/health", "/ready"):
            return  # probes and scrapes every few seconds would drown the useful lines
        key = scope.get("user")
        log.log(
            40 if status >= 500 else 20, "request",
            request_id=str(request_id(scope)),
            tenant=getattr(key, "tenant_id", None),
            key_id=getattr(key, "key_id", None),
            method=scope.get("method"),
            route=route,
            status=status,
            latency_ms=round(seconds * 1000, 2),
            replayed=response["replayed"] or None,
        )
