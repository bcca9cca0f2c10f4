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
from litestar.openapi.spec import Components, SecurityScheme

from ledger import __version__
from ledger.api import problems
from ledger.api.auth import ApiKeyMiddleware, check_roles_are_enforced
from ledger.api.key_cache import KeyCache
# Reporting (issue 16): offline API docs with a strict CSP.
from ledger.api.api_docs import OfflineSwaggerPlugin, assets_router
from ledger.api.dashboard import dashboard_routes, template_config
from ledger.api.edge import LedgerApp
from ledger.api.views import CurrentViews
from ledger.api.gc_tuning import tuned_collector
from ledger.api.cors import OptionsMiddleware
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
from ledger.api.controllers.webhooks import WebhookEndpointController
from ledger.api.controllers.approvals import ApprovalController
from ledger.api.controllers.complaints import ComplaintController
from ledger.api.controllers.negotiation_metrics import NegotiationMetricsController
from ledger.api.controllers.policies import OfferController, PolicyController
from ledger.api.controllers.inbound import InboundController, LetterController
from ledger.api.controllers.messages import (
    CaseMessageController,
    MessageController,
    contact_refused,
)
from ledger.api.controllers.templates import TemplateController
from ledger.domain.messaging.case_messages import ContactNotAllowed
from ledger.messaging.runtime import MessagingWorkers
from ledger.services.messages import MessageService
from ledger.api.controllers.plans import DialerController, PlanController, ScoreController
from ledger.api.controllers.strategies import StrategyController
from ledger.api.health import HealthController
from ledger.api.idempotency import PURGE_SQL, RETENTION_HOURS
from ledger.api.problems import ProblemError
from ledger.api.openapi_rules import declare_rules
from ledger.api.strict_body import StrictBodyRequest
from ledger.api.schemas.times import TYPE_DECODERS as TIME_DECODERS, InstantSchemaPlugin
from ledger.config import Settings
from ledger.db.pool import create_pool
from ledger.db.replica import ReadSide
from ledger.domain.errors import DomainError
from ledger.eventstore import ConcurrencyConflict, EventStore
from ledger.projections import ProjectionRunner, all_projections
from ledger.projections.deadlines import DeadlineScheduler
from ledger.api.controllers.scrape import ScrapeController
from ledger.observability import configure_logging, instrument_store
from ledger.observability.probes import ReadSideProbe
from ledger.observability.scheduler import observe_deadline_pass
from ledger.services.cases import CaseNotFound, CaseService, RetriesExhausted, VersionMismatch
from ledger.privacy import DataKeys, resolve_master_key
from ledger.services.repositories import case_repository
from ledger.audit.checkpoint_task import checkpoint_task
from ledger.audit.signing import resolve_signing_key
from ledger.services.secret import resolve_secret
from ledger.webhooks.wiring import start_webhooks
from ledger.services.negotiation import NegotiationService
from ledger.services.resegment import Resegmenter
from ledger.services.strategies import StrategyService
from ledger.services.strategy_auto import AutoSteps
from ledger.services.strategy_sweep import StrategySweeper

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
POOL_RESERVE = 12
"""Pool connections the held ones leave to the rest: the background workers keep several for
their lives (projection runner, deliverer, listeners) and requests that read the read models
or take a transaction need the others."""
V1_CONTROLLERS = [
    CaseController, PaymentController, AdjustmentController, ContactController,
    PromiseController, ArrangementController, NoteController, DisputeController,
    CeaseController, HoldController, AssignmentController, EscalationController,
    ClosureController, ReopeningController, ContactPermissionController,
    EventFeedController, KeyController,
    CaseListController, WorkQueueController, MetricsController, BreachController,
    AuditTrailController,
    HistoryController, StatementController, VerifyController, ErasureController,
    WebhookEndpointController,
    # negotiation (issue 15)
    PolicyController, OfferController, ApprovalController, ComplaintController,
    NegotiationMetricsController,
    # Messages (issue 13)
    TemplateController, CaseMessageController, MessageController, InboundController,
    LetterController,
    ScoreController, StrategyController, PlanController, DialerController,
]
log = logging.getLogger("ledger.api")

EXCEPTION_HANDLERS = {
    ProblemError: problems.handle_problem,
    HTTPException: problems.handle_http_exception,
    ContactNotAllowed: contact_refused,
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


def held_connections(pool_max_size: int) -> int:
    """How many connections the store holds: ``HELD_CONNECTIONS`` while the pool keeps
    ``POOL_RESERVE`` besides, fewer in a smaller pool, down to none (statements then take pool
    connections). A lane as large as the pool left start-up waiting for ever."""
    return max(0, min(HELD_CONNECTIONS, pool_max_size - POOL_RESERVE))


def create_app(settings: Settings, database_url: str, *,
               derive_master_key_for_tests: bool = False) -> Litestar:
    """Build the app; the pool opens on start-up and closes on shutdown.

    ``derive_master_key_for_tests``: only test suites and benchmarks pass it (see
    ``resolve_master_key``); ``ledger serve`` refuses to start without ``LEDGER_MASTER_KEY``
    on an external database.
    """
    key_cache = KeyCache(resolve_secret(settings), settings.auth_failures_per_minute)
    master_key = resolve_master_key(settings, derive_for_tests=derive_master_key_for_tests)
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(
            database_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        # Held connections skip the pool's reset round trip on every statement.
        store = instrument_store(EventStore(
            pool, held_connections=held_connections(settings.pool_max_size)))
        await store.start()
        # Debtor personal data is sealed with per-case data keys (crypto-shredding).
        data_keys = DataKeys(store.fetch, master_key)
        repository = case_repository(store, data_keys, snapshot_interval=settings.snapshot_interval)
        cipher = repository.cipher
        read_side = ReadSide(pool, settings.read_database_url,
                             max_lag_seconds=settings.read_max_lag_seconds,
                             pool_max_size=settings.pool_max_size)
        await read_side.start()
        app.state.update(
            pool=pool, store=store, codec=repository.codec, cases=CaseService(repository),
            key_cache=key_cache, data_keys=data_keys, cipher=cipher, read_side=read_side,
            read_side_probe=ReadSideProbe(), metrics_token=settings.metrics_token,
            case_views=CurrentViews(),
        )
        app.state.negotiation = NegotiationService(
            repository, pool, lambda: app.state.cases.clock(), settings.complaint_response_days)
        purge = asyncio.create_task(_purge_idempotency_records(pool))
        # Read side (issue 5): keep the rm_ tables current and break overdue promises here
        # unless LEDGER_RUN_PROJECTIONS=false (then `ledger project` workers do it).
        runner = ProjectionRunner(pool, store, all_projections(), codec=repository.codec)
        scheduler = DeadlineScheduler(pool, app.state.cases, settings.deadline_interval,
                                      observe=observe_deadline_pass)
        app.state.update(runner=runner)
        # Contact strategies (issue 12): re-segment after each write, and sweep as days pass.
        strategies = StrategyService(repository, pool)
        app.state.cases.follow_up = Resegmenter(strategies)
        sweeper = StrategySweeper(pool, app.state.cases, strategies)
        strategies.on_activation = sweeper.wake
        app.state.update(strategies=strategies, sweeper=sweeper)
        # Messages (issue 13): templates and queueing; the sender, address index and
        # validation-notice sweep run here unless switched off.
        messaging = MessagingWorkers(settings, pool, store, app.state.cases, data_keys, cipher,
                                     key_cache.secret)
        app.state.update(messaging=messaging, messages=MessageService(
            app.state.cases, data_keys, agency_name=settings.agency_name))
        # Strategies' auto steps are queued through the messages feature; strategy templates
        # are checked against the saved ones.
        sweeper.auto_steps = AutoSteps(pool, app.state.cases, strategies,
                                       app.state.messages.queue_message)
        app.state.update(template_channel=app.state.messages.template_channel)
        deliverer = start_webhooks(app, settings, pool, store, master_key)
        # trust-data: signed checkpoints where the runner runs (none without a signing key).
        signing_key = resolve_signing_key(settings)
        checkpoints = checkpoint_task(pool, signing_key, settings.checkpoint_interval)
        if settings.run_projections:
            # Supervised workers of this process, as /ready lists them (ledger.workers).
            app.state.update(workers=[scheduler, runner, sweeper])
            await runner.start()
            await scheduler.start()
            await sweeper.start()
            if checkpoints is not None:
                await checkpoints.start()
        if settings.run_sender:
            await messaging.start()
            app.state.update(workers=[*app.state.get("workers", []), *messaging.workers])
        if settings.run_webhooks:
            await deliverer.start()
            app.state.update(workers=[*app.state.get("workers", []), deliverer])
        try:
            yield
        finally:
            await deliverer.stop()
            await messaging.stop()
            if checkpoints is not None:
                await checkpoints.stop()
            await sweeper.stop()
            await scheduler.stop()
            await runner.stop()
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge
            await store.close()
            await read_side.close()
            await pool.close()

    v1 = Router(
        path="/", route_handlers=V1_CONTROLLERS, security=[{"BearerToken": []}],
        middleware=[DefineMiddleware(ApiKeyMiddleware)],
    )
    app = LedgerApp(
        route_handlers=[HealthController, ScrapeController, v1, assets_router(),
                        *dashboard_routes()],
        template_config=template_config(),
        # The request log, X-Request-Id, Ledger-Position, CORS and security headers are done
        # once, around the whole application (ledger.api.edge).
        middleware=[DefineMiddleware(OptionsMiddleware, origins=settings.cors_origins)],
        lifespan=[database, tuned_collector],  # the collector tuned once all is built
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=MAX_BODY,
        # Times in requests are strict RFC 3339 with an offset (schemas/times.py).
        type_decoders=TIME_DECODERS,
        request_class=StrictBodyRequest,  # bodies decode strictly: "100" is not an integer
        plugins=[InstantSchemaPlugin()],
        openapi_config=OpenAPIConfig(
            title="Ledger",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            use_handler_docstrings=True,
            render_plugins=[OfflineSwaggerPlugin(path="/swagger")],
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
    app.cors_origins = frozenset(settings.cors_origins)
    declare_rules(app)  # cross-field rules and additionalProperties: false (openapi_rules)
    check_roles_are_enforced(app)
    return app
