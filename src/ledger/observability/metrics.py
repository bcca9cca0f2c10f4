"""Prometheus series of a Ledger process and the ``/metrics`` endpoint.

The ``/metrics`` endpoint itself is HTTP glue and lives in ``ledger.api.controllers.scrape``.
Request rate and latency per route are observed by the request log middleware (labelled by the
route *template*, so ``/v1/cases/{case_id:uuid}`` is one series, not one per case). The rest are
ours: appends and conflicts (counted around the event store's ``append``), idempotent replays
(counted by the request log middleware), deadline-scheduler runs, and gauges refreshed at scrape
time from the database (projection lag) and from this process (connection pool use).

With ``ledger serve --workers N`` every worker is its own process; ``PROMETHEUS_MULTIPROC_DIR``
is then set by the parent and each scrape merges all workers' files (prometheus-client's
multiprocess mode), so any worker answers for the whole server.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from ledger.eventstore import ConcurrencyConflict, EventStore, IdempotencyKeyConflict
from ledger.observability.probes import ReadSideProbe
from ledger.workers.metrics import QUARANTINE_HELD

log = logging.getLogger("ledger.metrics")
PREFIX = "ledger"
# Latency buckets for an API whose reads take ~1 ms and whose long polls wait up to 30 s.
LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0]

APPENDS = Counter("ledger_appends", "Event-store appends by outcome (stored, conflict, "
                  "idempotency_conflict, error)", ["outcome"])
EVENTS_APPENDED = Counter("ledger_events_appended", "Events stored by this process")
APPEND_SECONDS = Histogram("ledger_append_duration_seconds", "Time of one event-store append",
                           buckets=LATENCY_BUCKETS)
CONFLICTS = Counter("ledger_append_conflicts", "Appends refused because a case moved on "
                    "(the service reloads and retries)")
IDEMPOTENT_REPLAYS = Counter("ledger_idempotent_replays", "Responses replayed for a repeated "
                             "Idempotency-Key, by route", ["route"])
PROJECTION_LAG_EVENTS = Gauge("ledger_projection_lag_events", "Feed events a projection has "
                              "not applied yet", ["projection"], multiprocess_mode="mostrecent")
PROJECTION_LAG_SECONDS = Gauge("ledger_projection_lag_seconds", "Age of the oldest event a "
                               "projection has not applied yet", ["projection"],
                               multiprocess_mode="mostrecent")
PROJECTION_APPLIED = Gauge("ledger_projection_events_applied", "Feed events a projection has "
                           "applied", ["projection"], multiprocess_mode="mostrecent")
DEADLINE_RUNS = Counter("ledger_deadline_runs", "Deadline-scheduler passes by outcome "
                        "(ok, failed)", ["outcome"])
DEADLINE_CASES = Counter("ledger_deadline_cases_changed", "Cases on which the deadline "
                         "scheduler recorded broken promises or defaulted arrangements")
POOL_CONNECTIONS = Gauge("ledger_db_pool_connections", "Database connections of this process's "
                         "pool by state (in_use, idle, max)", ["state"],
                         multiprocess_mode="liveall")
READ_MODEL_READS = Counter("ledger_read_model_reads", "Read-model requests (lists, metrics, "
                           "queues) by the server chosen to answer them (replica, primary)",
                           ["source"])


HTTP_REQUESTS = Counter("ledger_http_requests", "HTTP requests by method, route template and "
                        "status", ["method", "path", "status_code"])
HTTP_SECONDS = Histogram("ledger_http_request_duration_seconds", "HTTP request latency by "
                         "method, route template and status", ["method", "path", "status_code"],
                         buckets=LATENCY_BUCKETS)
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one request and its latency (label children cached: this runs on every request)."""
    children = _http_children.get((method, route, status))
    if children is None:
        labels = (method, route, str(status))
        children = _http_children[(method, route, status)] = (
            HTTP_REQUESTS.labels(*labels), HTTP_SECONDS.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


def instrument_store(store: EventStore) -> EventStore:
    """Count appends, stored events and conflicts around ``store.append`` (same behaviour)."""
    append = store.append

    @functools.wraps(append)
    async def counted_append(events: Any, *args: Any, **kwargs: Any) -> Any:
        with APPEND_SECONDS.time():
            try:
                rows = await append(events, *args, **kwargs)
            except ConcurrencyConflict:
                APPENDS.labels("conflict").inc()
                CONFLICTS.inc()
                raise
            except IdempotencyKeyConflict:
                APPENDS.labels("idempotency_conflict").inc()
                raise
            except Exception:
                APPENDS.labels("error").inc()
                raise
        APPENDS.labels("stored").inc()
        EVENTS_APPENDED.inc(len(rows))
        return rows

    store.append = counted_append  # type: ignore[method-assign]
    return store


def observe_pool(pool: asyncpg.Pool) -> None:
    """Set the pool gauges from the pool's current state."""
    size, idle = pool.get_size(), pool.get_idle_size()
    POOL_CONNECTIONS.labels("in_use").set(size - idle)
    POOL_CONNECTIONS.labels("idle").set(idle)
    POOL_CONNECTIONS.labels("max").set(pool.get_max_size())


async def observe_projection_lag(pool: asyncpg.Pool, probe: ReadSideProbe,
                                 wakeup: Any = None) -> None:
    """Set the projection and quarantine gauges (the same cached figures as ``/ready``)."""
    try:
        figures = await probe.figures(pool, wakeup)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        # A scrape must still answer when the database does not: the request series matter most.
        log.warning("projection lag not refreshed: %s", type(error).__name__)
        return
    for lag in figures.projections:
        PROJECTION_LAG_EVENTS.labels(lag.name).set(lag.positions_behind)
        PROJECTION_LAG_SECONDS.labels(lag.name).set(lag.seconds_behind)
        PROJECTION_APPLIED.labels(lag.name).set(lag.events_applied)
    for worker in set(figures.held) | set(_held_workers):
        QUARANTINE_HELD.labels(worker).set(figures.held.get(worker, 0))
    _held_workers.update(figures.held)


_held_workers: set[str] = set()


MESSAGE_OUTBOX = Gauge("ledger_message_outbox", "Messages waiting to be sent (pending; "
                       "quarantined ones: ledger_worker_quarantine_held)", ["state"],
                       multiprocess_mode="mostrecent")
OUTBOX_SQL = "SELECT count(*) FROM message_outbox WHERE state = 'pending'"


async def observe_outbox(pool: asyncpg.Pool) -> None:
    """Set the outbox gauges (messages, issue 13) from the database."""
    try:
        async with pool.acquire(timeout=2) as conn:
            pending = await conn.fetchval(OUTBOX_SQL)
        MESSAGE_OUTBOX.labels("pending").set(pending)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        log.warning("outbox gauges not refreshed: %s", type(error).__name__)
