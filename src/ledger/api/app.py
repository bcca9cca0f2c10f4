"""The litestar application: wiring of controllers, the pool and OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from ledger import __version__
from ledger.api.health import HealthController
from ledger.config import Settings
from ledger.db.pool import create_pool

DESCRIPTION = (
    "Event-sourced backend for collecting delinquent consumer debt: placements, contacts, "
    "promises, payments, arrangements, compliance checks, metrics and audit."
)


def create_app(settings: Settings, database_url: str) -> Litestar:
    """Build the app; the pool opens on start-up and closes on shutdown."""

    @asynccontextmanager
    async def database_pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            database_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(
        route_handlers=[HealthController],
        lifespan=[database_pool],
        openapi_config=OpenAPIConfig(
            title="Ledger",
            version=__version__,
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )
