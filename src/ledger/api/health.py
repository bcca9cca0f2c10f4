"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from ledger.db.migrations import MigrationError, pending_migrations
from ledger.observability.probes import ReadSideProbe
from ledger.projections import Lag
from ledger.workers import Quarantined, WorkerStatus


class Health(msgspec.Struct):
    """The process is up and serving HTTP."""

    status: str = "ok"


class Readiness(msgspec.Struct):
    """Whether this process can serve traffic, and why not."""

    status: str
    """``ready`` or ``not_ready``."""
    database: str
    """``ok`` or ``unreachable``."""
    migrations: str
    """``applied``, ``pending`` or ``invalid``."""
    projections: list[Lag] = []
    """Per read model: events applied, positions and seconds behind the feed (lag does not
    make the process unready: stale figures say so through ``as_of_position``)."""
    workers: list[WorkerStatus] = []
    """This process's supervised background workers (deadline scheduler, projection runner)."""
    quarantined: list[Quarantined] = []
    """Items background workers set aside after they kept failing (up to 50; they do not make
    the process unready: the other items go on)."""
    quarantined_total: int = 0


class HealthController(Controller):
    """Operational probes; no authentication, no personal data."""

    path = "/"
    include_in_schema = True
    tags = ["operations"]

    @get("/health", operation_id="health", exclude_from_auth=True, sync_to_thread=False)
    def health(self) -> Health:
        """Liveness: answers as long as the process runs."""
        return Health()

    @get(
        "/ready", operation_id="ready", exclude_from_auth=True,
        responses={503: ResponseSpec(Readiness, description="Not ready (database or migrations)",
                                     generate_examples=False)},
    )
    async def ready(self, state: State) -> Response[Readiness]:
        """Readiness: database reachable and every migration applied (else ``503``)."""
        pool: asyncpg.Pool = state.pool
        database, migrations = "ok", "applied"
        projections: list[Lag] = []
        quarantined: list[Quarantined] = []
        held = 0
        try:
            async with pool.acquire(timeout=2) as conn:
                if await pending_migrations(conn):
                    migrations = "pending"
            if migrations == "applied":
                probe: ReadSideProbe = state.read_side_probe
                store = state.get("store")
                figures = await probe.figures(pool, store.wakeup if store is not None else None)
                projections, quarantined = figures.projections, figures.quarantined
                held = sum(figures.held.values())
        except MigrationError:
            migrations = "invalid"
        except (OSError, asyncpg.PostgresError, TimeoutError):
            database, migrations = "unreachable", "unknown"
        ok = database == "ok" and migrations == "applied"
        workers = [w.status() for w in state.get("workers", [])]
        body = Readiness("ready" if ok else "not_ready", database, migrations, projections,
                         workers, quarantined, held)
        return Response(body, status_code=200 if ok else 503)
