"""The litestar application: wiring of controllers, auth, errors, the pool and OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar, Router
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme

from ledger import __version__
from ledger.api import problems
from ledger.api.auth import ApiKeyMiddleware, KeyCache
from ledger.api.commands import add_request_id
from ledger.api.controllers.audit_trail import AuditTrailController
from ledger.api.controllers.erasure import ErasureController
from ledger.api.controllers.history import HistoryController
from ledger.api.controllers.statement import StatementController
from ledger.api.controllers.verify import VerifyController
from ledger.api.controllers.breaches import BreachController
from ledger.api.controllers.case_list import CaseListController
from ledger.api.controllers.cases import CaseController
from ledger.api.controllers.compliance import ContactPermissionController
from ledger.api.controllers.engagement import (
    ArrangementController,
    ContactController,
    NoteController,
    PromiseController,
)
from ledger.api.controllers.feed import EventFeedController
from ledger.api.controllers.keys import KeyController
from ledger.api.controllers.lifecycle import (
    AssignmentController,
    ClosureController,
    EscalationController,
    ReopeningController,
)
from ledger.api.controllers.money import AdjustmentController, PaymentController
from ledger.api.controllers.metrics import MetricsController
from ledger.api.controllers.protection import CeaseController, DisputeController, HoldController
from ledger.api.controllers.work_queue import WorkQueueController
from ledger.api.health import HealthController
from ledger.api.idempotency import PURGE_SQL, RETENTION_HOURS
from ledger.api.problems import ProblemError
from ledger.api.schemas.common import Request as RequestStruct
from ledger.config import Settings
from ledger.db.pool import create_pool
from ledger.domain.errors import DomainError
from ledger.eventstore import ConcurrencyConflict, EventStore, Repository
from ledger.projections import ProjectionRunner, all_projections
from ledger.projections.deadlines import DeadlineScheduler
from ledger.observability import (
    RequestLogMiddleware,
    ScrapeController,
    configure_logging,
    instrument_store,
)
from ledger.observability.probes import ReadSideProbe
from ledger.observability.scheduler import observe_deadline_pass
from ledger.services.cases import CaseNotFound, CaseService, RetriesExhausted, VersionMismatch
from ledger.privacy import DataKeys, DebtorCipher, resolve_master_key
from ledger.services.secret import resolve_secret

DESCRIPTION = (
    "Event-sourced backend for collecting delinquent consumer debt: placements, contacts, "
    "promises, payments, arrangements, compliance checks, metrics and audit.\n\n"
    "Authenticate with `Authorization: Bearer <API key>`. Errors are "
    "`application/problem+json` with a stable `code`. Every POST accepts `Idempotency-Key`; "
    "writes to a case accept `If-Match: \"<version>\"`.\n\n"
    "Case lists, work queues, metrics, breaches and the audit trail read projections; each "
    "response carries `as_of_position`, the number of feed events the read model had applied "
    "(its offset in the gap-free feed), so a client can tell how fresh a figure is."
)
MAX_BODY = 1024 * 1024
PURGE_EVERY_SECONDS = 600
HELD_CONNECTIONS = 8
V1_CONTROLLERS = [
    CaseController, PaymentController, AdjustmentController, ContactController,
    PromiseController, ArrangementController, NoteController, DisputeController,
    CeaseController, HoldController, AssignmentController, EscalationController,
    ClosureController, ReopeningController, ContactPermissionController,
    EventFeedController, KeyController,
    CaseListController, WorkQueueController, MetricsController, BreachController,
    AuditTrailController,
    HistoryController, StatementController, VerifyController, ErasureController,
]
log = logging.getLogger("ledger.api")

EXCEPTION_HANDLERS = {
    ProblemError: problems.handle_problem,
    HTTPException: problems.handle_http_exception,
    DomainError: problems.handle_domain_error,
    CaseNotFound: lambda _, __: problems.problem_response(404, "not_found", "no such case"),
    VersionMismatch: lambda _, exc: problems.problem_response(
        412, "version_mismatch", f"the case is at version {exc.current}"),
    RetriesExhausted: lambda _, __: problems.problem_response(
        409, "concurrency_conflict", "the case kept changing; retry the request",
        headers={"Retry-After": "1"}),
    ConcurrencyConflict: lambda _, __: problems.problem_response(
        409, "concurrency_conflict", "the case changed concurrently; retry the request",
        headers={"Retry-After": "1"}),
    OSError: problems.handle_database_down,
    asyncpg.exceptions.CannotConnectNowError: problems.handle_database_down,
    asyncpg.exceptions.TooManyConnectionsError: problems.handle_database_down,
    asyncpg.exceptions.ConnectionDoesNotExistError: problems.handle_database_down,
    asyncpg.exceptions.AdminShutdownError: problems.handle_database_down,
    asyncpg.exceptions.InterfaceError: problems.handle_database_down,
    TimeoutError: problems.handle_database_down,
    Exception: problems.handle_unexpected,
}


async def _purge_idempotency_records(pool: asyncpg.Pool) -> None:
    while True:
        await asyncio.sleep(PURGE_EVERY_SECONDS)
        try:
            await pool.execute(PURGE_SQL, RETENTION_HOURS)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("idempotency purge failed: %s", type(error).__name__)


def create_app(settings: Settings, database_url: str) -> Litestar:
    """Build the app; the pool opens on start-up and closes on shutdown."""
    key_cache = KeyCache(resolve_secret(settings), settings.auth_failures_per_minute)
    master_key = resolve_master_key(settings, derive_for_tests=True)
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(
            database_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        # Held connections skip the pool's reset round trip on every statement.
        store = instrument_store(EventStore(pool, held_connections=HELD_CONNECTIONS))
        await store.start()
        # Debtor personal data is sealed with per-case data keys (crypto-shredding).
        data_keys = DataKeys(store.fetch, master_key)
        cipher = DebtorCipher(data_keys)
        repository = Repository(store, snapshot_interval=settings.snapshot_interval,
                                cipher=cipher)
        app.state.update(
            pool=pool, store=store, codec=repository.codec, cases=CaseService(repository),
            key_cache=key_cache, data_keys=data_keys, cipher=cipher,
            read_side_probe=ReadSideProbe(), metrics_token=settings.metrics_token,
        )
        purge = asyncio.create_task(_purge_idempotency_records(pool))
        # Read side (issue 5): keep the rm_ tables current and break overdue promises here
        # unless LEDGER_RUN_PROJECTIONS=false (then `ledger project` workers do it).
        runner = ProjectionRunner(pool, store, all_projections(), codec=repository.codec)
        scheduler = DeadlineScheduler(pool, app.state.cases, settings.deadline_interval,
                                      observe=observe_deadline_pass)
        app.state.update(runner=runner)
        if settings.run_projections:
            # Supervised workers of this process, as /ready lists them (ledger.workers).
            app.state.update(workers=[scheduler, runner])
            await runner.start()
            await scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await runner.stop()
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge
            await store.close()
            await pool.close()

    v1 = Router(
        path="/", route_handlers=V1_CONTROLLERS, security=[{"BearerToken": []}],
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
    )
    app = Litestar(
        route_handlers=[HealthController, ScrapeController, v1],
        # Outermost first: time and log the whole request, errors included (see observability).
        middleware=[RequestLogMiddleware()],
        lifespan=[database],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[add_request_id],
        request_max_body_size=MAX_BODY,
        openapi_config=OpenAPIConfig(
            title="Ledger",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            use_handler_docstrings=True,
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer",
                                              description="An API key: `lk_<id>_<secret>`."),
            }),
        ),
        debug=False,
        # Logging is ours (observability.logs: JSON, no bodies); litestar's default config
        # would replace the root handlers with its plain-text format.
        logging_config=None,
    )
    _forbid_unknown_fields_in_schema(app)
    return app


def _forbid_unknown_fields_in_schema(app: Litestar) -> None:
    """Say in the document what the Structs enforce: request bodies take no unknown fields.

    litestar does not emit ``additionalProperties: false`` for ``forbid_unknown_fields``, so
    clients (and schemathesis) would think extra fields are accepted.
    """
    strict = {cls.__name__ for cls in _subclasses(RequestStruct)}
    for name, schema in (app.openapi_schema.components.schemas or {}).items():
        if name in strict and isinstance(schema, Schema):
            schema.additional_properties = False


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
