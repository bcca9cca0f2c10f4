"""Resolve where the database is: the configured server, or the embedded one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg

from ledger.config import Settings
from ledger.db.embedded import EmbeddedPostgres

EMBEDDED_DATABASE = "ledger"


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the URL to use; with no LEDGER_DATABASE_URL run the embedded server meanwhile."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    server = EmbeddedPostgres(settings.data_dir / "postgres")
    server.start()
    try:
        yield server.url(EMBEDDED_DATABASE)
    finally:
        server.stop()


async def ensure_database_exists(url: str) -> None:
    """Create the embedded server's ``ledger`` database on first start."""
    name = urlsplit(url).path.lstrip("/")
    maintenance = url.replace(f"/{name}?", "/postgres?", 1)
    conn = await asyncpg.connect(maintenance)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers can't be parameters; this name is our own constant, not input.
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def describe(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or dict(
        p.split("=", 1) for p in parts.query.split("&") if "=" in p
    ).get("host", "?")
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"
