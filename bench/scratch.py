"""A scratch database for one benchmark run: on the server given, or on an embedded one."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ledger.db.migrations import migrate
from ledger.db.pool import connect


def database_url(server_url: str, database: str) -> str:
    """``server_url`` pointing at ``database`` instead."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


@contextlib.asynccontextmanager
async def scratch_database(server_url: str | None) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """(URL of a new migrated database, a maintenance connection); all removed afterwards.

    Without ``server_url`` an embedded PostgreSQL starts in a temporary folder for the run.
    """
    server, root = None, None
    if server_url is None:
        from ledger.db.embedded import EmbeddedPostgres

        root = Path(tempfile.mkdtemp(prefix="ledger-bench-pg-"))
        root.chmod(0o755)  # the server runs as its own user when we are root
        server = EmbeddedPostgres(root / "cluster")
        server.start()
        server_url = server.url()
    database = f"ledger_bench_{uuid.uuid4().hex[:10]}"
    admin = await connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')  # our own generated name
        url = database_url(server_url, database)
        await migrate(url)
        yield url, admin
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        if server is not None:
            server.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def served_database(root: Path) -> tuple[object | None, str]:
    """(embedded server or None, database URL) for a benchmark that serves the app: the server
    named by ``LEDGER_DATABASE_URL``, else an embedded PostgreSQL in ``root / "pg"`` (the
    caller stops it) with a database ``ledger``."""
    import asyncio
    import os

    url = os.environ.get("LEDGER_DATABASE_URL")
    if url is not None:
        return None, url
    from ledger.db.embedded import EmbeddedPostgres
    from ledger.db.runtime import ensure_database_exists

    server = EmbeddedPostgres(root / "pg")
    server.start()
    url = server.url("ledger")
    asyncio.run(ensure_database_exists(url))
    return server, url
