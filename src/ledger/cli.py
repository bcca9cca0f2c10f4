"""The ``ledger`` command: serve, migrate, and operator tools."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from ledger.config import ConfigError, Settings, load_settings
from ledger.db.embedded import EmbeddedPostgresError
from ledger.db.migrations import MigrationError, migrate
from ledger.db.runtime import database_url, describe, ensure_database_exists


async def _prepare_database(settings: Settings, url: str) -> list[str]:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    return await migrate(url)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ledger.api.app import create_app

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    with database_url(settings) as url:
        applied = asyncio.run(_prepare_database(settings, url))
        where = "embedded PostgreSQL in " + str(settings.data_dir) if settings.uses_embedded_database else describe(url)
        print(f"Database: {where}" + (f" (applied {len(applied)} migrations)" if applied else ""))
        print(f"Ledger API:  http://{host}:{port}/v1")
        print(f"API docs:    http://{host}:{port}/schema  (OpenAPI JSON: /schema/openapi.json)")
        sys.stdout.flush()
        app = create_app(settings, url)
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
        # embedded database is stopped by the context manager instead of being orphaned.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level, access_log=False)
    return 0


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        applied = asyncio.run(_prepare_database(settings, url))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced backend for collecting delinquent consumer debt.",
        epilog="Configuration comes from LEDGER_* environment variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the HTTP API (embedded database by default)")
    serve.add_argument("--host", help="address to listen on (default LEDGER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default LEDGER_PORT or 8000)")
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(handler=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except (ConfigError, MigrationError, EmbeddedPostgresError) as error:
        print(f"ledger: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
