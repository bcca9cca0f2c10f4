"""``GET /metrics``: the Prometheus scrape endpoint over the series of ``ledger.observability``."""

from __future__ import annotations

import hmac
import os

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

# litestar adds the charset of text types itself: named once, not twice.
MEDIA_TYPE = CONTENT_TYPE_LATEST.replace("; charset=utf-8", "")

from ledger.api.problems import encode_problem
from ledger.observability.metrics import (
    observe_outbox,
    observe_pool,
    observe_projection_lag,
)
from ledger.observability.probes import ReadSideProbe
from ledger.webhooks.metrics import observe_endpoints as observe_webhook_endpoints


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


class ScrapeController(Controller):
    """``GET /metrics``: Prometheus text exposition, no personal data; with
    ``LEDGER_METRICS_TOKEN`` set it wants ``Authorization: Bearer <that token>``."""

    path = "/metrics"
    tags = ["operations"]

    @get(
        operation_id="metrics", exclude_from_auth=True, media_type=MEDIA_TYPE,
        description="Prometheus text exposition format: request rate and latency per "
        "route, appends and conflicts, idempotent replays, projection lag, deadline-scheduler "
        "runs, background workers (restarts, quarantined items) and database pool use. "
        "When the server sets `LEDGER_METRICS_TOKEN`, send it as `Authorization: Bearer "
        "<token>` (else `401`).",
    )
    async def metrics(self, request: Request, state: State) -> Response[bytes]:
        """Metrics for Prometheus to scrape."""
        token: str | None = state.get("metrics_token")
        if token and not _token_matches(request.headers.get("authorization", ""), token):
            return Response(encode_problem(401, "unauthorized", "this endpoint needs the "
                                           "metrics token"), status_code=401,
                            media_type="application/problem+json",
                            headers={"WWW-Authenticate": "Bearer"})
        pool: asyncpg.Pool | None = state.get("pool")
        probe: ReadSideProbe | None = state.get("read_side_probe")
        if pool is not None and probe is not None:
            observe_pool(pool)
            store = state.get("store")
            await observe_projection_lag(pool, probe, store.wakeup if store is not None else None)
            await observe_webhook_endpoints(pool)
            await observe_outbox(pool)
        return Response(generate_latest(_registry()), media_type=MEDIA_TYPE)


def _token_matches(header: str, token: str) -> bool:
    presented = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    return hmac.compare_digest(presented.encode(), token.encode())
