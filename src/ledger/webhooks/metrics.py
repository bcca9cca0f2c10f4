"""Prometheus series of webhook delivery.

Counted where attempts happen (the deliverer's process): attempts by endpoint and outcome,
commit→2xx latency, endpoints disabled by reason. Read from the database at scrape time (so
any process's ``/metrics`` shows them, wherever the deliverer runs): per endpoint, deliveries
pending, the age of the oldest (lag), and how long it has been failing.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from ledger.webhooks import store as sql
from ledger.webhooks.client import Outcome

log = logging.getLogger("ledger.webhooks")
LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                   3600.0]

ATTEMPTS = Counter("ledger_webhook_attempts", "Webhook delivery attempts by endpoint and "
                   "outcome (delivered, failed)", ["endpoint_id", "outcome"])
LATENCY = Histogram("ledger_webhook_delivery_latency_seconds", "From an event's commit to the "
                    "endpoint's 2xx", buckets=LATENCY_BUCKETS)
DISABLED = Counter("ledger_webhook_endpoints_disabled", "Endpoints disabled by the deliverer, "
                   "by reason (gone: answered 410; failing: 3 days of failures)", ["reason"])
PENDING = Gauge("ledger_webhook_pending_deliveries", "Deliveries not yet acknowledged, per "
                "endpoint", ["endpoint_id"], multiprocess_mode="mostrecent")
LAG = Gauge("ledger_webhook_lag_seconds", "Age of the oldest undelivered event, per endpoint",
            ["endpoint_id"], multiprocess_mode="mostrecent")
FAILING = Gauge("ledger_webhook_failing_seconds", "How long every attempt to the endpoint has "
                "failed (0: healthy); 3 days disables it", ["endpoint_id"],
                multiprocess_mode="mostrecent")
ENABLED = Gauge("ledger_webhook_endpoint_enabled", "1 while the endpoint is enabled, 0 when "
                "disabled (by request, 410 or 3 days failing)", ["endpoint_id"],
                multiprocess_mode="mostrecent")


def observe_attempt(endpoint_id: UUID, outcome: Outcome, since_commit: float) -> None:
    ATTEMPTS.labels(str(endpoint_id), "delivered" if outcome.delivered else "failed").inc()
    if outcome.delivered:
        LATENCY.observe(since_commit)


def observe_disabled(reason: str) -> None:
    DISABLED.labels(reason).inc()


def set_enabled(endpoint_id: UUID, enabled: bool) -> None:
    ENABLED.labels(str(endpoint_id)).set(1 if enabled else 0)


async def observe_endpoints(pool: asyncpg.Pool) -> None:
    """Refresh the per-endpoint gauges from the database (called on scrape)."""
    try:
        async with pool.acquire(timeout=2) as conn:
            pending = {r[0]: (r[1], float(r[2] or 0)) for r in await conn.fetch(
                sql.ENDPOINT_METRICS_SQL)}
            failing = {r[0]: float(r[1] or 0) for r in await conn.fetch(sql.FAILING_METRICS_SQL)}
            states = await conn.fetch(sql.ENDPOINT_STATES_SQL)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        log.warning("webhook gauges not refreshed: %s", type(error).__name__)
        return
    for endpoint_id, enabled in states:
        label = str(endpoint_id)
        count, age = pending.get(endpoint_id, (0, 0.0))
        PENDING.labels(label).set(count)
        LAG.labels(label).set(age)
        FAILING.labels(label).set(failing.get(endpoint_id, 0.0))
        ENABLED.labels(label).set(1 if enabled else 0)
