"""One structured log line and the request metrics per HTTP request, and idempotent replays.

The line carries what an operator correlates on — request id (also the ``X-Request-Id``
response header and the events' correlation id), tenant, API key id, method, route template,
status and latency — and deliberately nothing else: no bodies (debtor names, phones and
amounts live there), no query strings, no headers (the ``Authorization`` header *is* the key),
and the route *template* rather than the path (paths carry external references).
"""

from __future__ import annotations

from litestar.types import Scope

from ledger.observability.logs import LineLogger
from ledger.observability.metrics import IDEMPOTENT_REPLAYS, observe_request

log = LineLogger("ledger.requests")
CLIENT_CLOSED = 499
"""Status logged for a request whose client went away before its body was read (nginx's
convention): litestar raises a 500 for it, which no one receives and which is not our fault."""


def log_request(scope: Scope, request_id: str, status: int, replayed: bool, seconds: float) -> None:
    """Measure and log one request once its response was sent (``ledger.api.edge`` calls this)."""
    route = str(scope.get("path_template") or "unmatched")
    if route != "unmatched" and route != "/metrics":
        observe_request(str(scope.get("method")), route, status, seconds)
    if replayed:
        IDEMPOTENT_REPLAYS.labels(route).inc()
    if route == "/metrics" or route in ("/health", "/ready"):
        return  # probes and scrapes every few seconds would drown the useful lines
    key = scope.get("user")
    log.log(
        40 if status >= 500 else 20, "request",
        request_id=request_id,
        tenant=getattr(key, "tenant_id", None),
        key_id=getattr(key, "key_id", None),
        method=scope.get("method"),
        route=route,
        status=status,
        latency_ms=round(seconds * 1000, 2),
        replayed=replayed or None,
    )
