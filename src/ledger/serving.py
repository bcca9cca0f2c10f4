"""Running the API process: start-up checks with clear errors, workers, graceful shutdown.

Start-up fails early with one line an operator can act on — the database cannot be reached,
migrations are pending and this role may not apply them, the port is taken — instead of a
traceback from deep inside a driver. Shutdown is uvicorn's: on SIGTERM it stops accepting
connections, lets in-flight requests finish (up to ``GRACEFUL_SECONDS``), then the app's
lifespan stops the projection runner and scheduler and closes the pool.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile

import asyncpg

from ledger.config import Settings, load_settings
from ledger.db.migrations import migrate, pending_migrations
from ledger.db.pool import connect
from ledger.db.runtime import describe, ensure_database_exists

GRACEFUL_SECONDS = 30
WORKER_URL_VARIABLE = "LEDGER_WORKER_DATABASE_URL"
"""How the parent hands the resolved database URL (the embedded one too) to its workers."""


class StartupError(RuntimeError):
    """Ledger cannot start; the message says why and what to do."""


async def prepare_database(settings: Settings, url: str) -> list[str]:
    """Apply pending migrations; raise ``StartupError`` with a reason an operator can act on."""
    try:
        if settings.uses_embedded_database:
            await ensure_database_exists(url)
        return await migrate(url)
    except asyncpg.InsufficientPrivilegeError:
        pending = await _pending(url)
        if not pending:
            return []  # a read-only role on an up-to-date schema may serve
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise StartupError(
            f"{len(pending)} database migration(s) are pending ({names}) and this database "
            "role may not apply them: run `ledger migrate` with the schema owner's "
            "LEDGER_DATABASE_URL, then start again") from None
    except (OSError, asyncpg.CannotConnectNowError, asyncpg.InvalidPasswordError,
            asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError,
            TimeoutError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise StartupError(
            f"cannot reach the database at {describe(url)} ({reason}): check "
            "LEDGER_DATABASE_URL and that PostgreSQL is running and accepts this role") from None


async def _pending(url: str) -> list:  # type: ignore[type-arg]
    conn = await connect(url)
    try:
        return await pending_migrations(conn)
    finally:
        await conn.close()


def check_port_free(host: str, port: int) -> None:
    """Fail now, with a clear message, if ``host:port`` cannot be bound."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"port {port} on {host} is already in use (another Ledger?): stop it or "
                    "choose another with --port or LEDGER_PORT") from None
            raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def run_server(settings: Settings, url: str, host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM/SIGINT; ``workers`` > 1 runs that many processes on one port."""
    import uvicorn

    options = dict(host=host, port=port, log_level=settings.log_level, access_log=False,
                   log_config=None, timeout_graceful_shutdown=GRACEFUL_SECONDS)
    if workers == 1:
        from ledger.api.app import create_app

        uvicorn.run(create_app(settings, url), **options)  # type: ignore[arg-type]
        return
    os.environ[WORKER_URL_VARIABLE] = url
    # Every worker writes its metrics here; a scrape of any worker merges them all.
    with tempfile.TemporaryDirectory(prefix="ledger-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run("ledger.serving:worker_app", factory=True, workers=workers,
                    **options)  # type: ignore[arg-type]


def worker_app():  # type: ignore[no-untyped-def]
    """App factory for uvicorn's worker processes (they re-read settings from the env)."""
    from ledger.api.app import create_app

    settings = load_settings()
    url = os.environ.get(WORKER_URL_VARIABLE) or settings.database_url
    if url is None:
        raise StartupError(f"{WORKER_URL_VARIABLE} is not set; start workers with `ledger serve`")
    return create_app(settings, url)
