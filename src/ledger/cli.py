"""The ``ledger`` command: serve, migrate, and operator tools."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ledger.config import ConfigError, Settings, load_settings
from ledger.db.embedded import EmbeddedPostgresError
from ledger.services.first_key import announcement as first_key_announcement
from ledger.db.migrations import MigrationError
from ledger.db.pool import connect
from ledger.db.runtime import database_url, describe
from ledger.audit import commands as audit_commands
from ledger.projections import commands as projection_commands
from ledger.webhooks import commands as webhook_commands
from ledger.reporting import commands as reporting_commands
from ledger.serving import StartupError, check_port_free, prepare_database, run_server
from ledger.services.keys import (
    MAX_RATE_LIMIT,
    TENANT_ID,
    Role,
    count_keys,
    create_key,
    list_keys,
    revoke_key,
)
from ledger.services.secret import resolve_secret
from ledger.privacy.master import resolve_master_key
from ledger.privacy import rotation_command

BOOTSTRAP_TENANT = "default"


async def _prepare_database(settings: Settings, url: str) -> list[str]:
    return await prepare_database(settings, url)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.observability import configure_logging

    configure_logging(settings.log_level)  # before anything logs: every stderr line is JSON
    resolve_master_key(settings)  # an external database without LEDGER_MASTER_KEY: refuse now
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    check_port_free(host, port)
    with database_url(settings) as url:
        applied = asyncio.run(_prepare_database(settings, url))
        if args.demo:
            from ledger.demo.command import run_demo

            asyncio.run(run_demo(url, resolve_master_key(settings), tenant_id=BOOTSTRAP_TENANT))
        secret = resolve_secret(settings)
        first_key = asyncio.run(_bootstrap_admin_key(url, secret))
        where = "embedded PostgreSQL in " + str(settings.data_dir) if settings.uses_embedded_database else describe(url)
        print(f"Database: {where}" + (f" (applied {len(applied)} migrations)" if applied else ""))
        print(f"Ledger API:  http://{host}:{port}/v1")
        print(f"API docs:    http://{host}:{port}/schema  (OpenAPI JSON: /schema/openapi.json)")
        print(f"Dashboard:   http://{host}:{port}/dashboard  (sign in with an analyst, "
              "supervisor, auditor or admin key)")
        if first_key is not None:  # also saved in <data dir>/admin_key (services.first_key)
            print(first_key_announcement(first_key, BOOTSTRAP_TENANT, settings.data_dir))
        sys.stdout.flush()
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into SystemExit so the
        # embedded database is stopped by the context manager instead of being orphaned.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        run_server(settings, url, host, port, args.workers)
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.demo.command import run_demo

    with database_url(settings) as url:
        asyncio.run(_prepare_database(settings, url))
        asyncio.run(run_demo(url, resolve_master_key(settings), tenant_id=args.tenant,
                             cases=args.cases, seed=args.seed,
                             end=args.end))
    return 0


async def _bootstrap_admin_key(url: str, secret: bytes) -> str | None:
    """On an empty key table, create the first admin key (so somebody can log in)."""
    conn = await connect(url)
    try:
        # A transaction-scoped advisory lock: two servers starting at once create one key.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", BOOTSTRAP_LOCK_ID)
            if await count_keys(conn):
                return None
            _, key = await create_key(
                conn, secret, tenant_id=BOOTSTRAP_TENANT, role=Role.ADMIN, label="bootstrap admin"
            )
            return key
    finally:
        await conn.close()


BOOTSTRAP_LOCK_ID = 0x1ED6E5_0010


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    secret = resolve_secret(settings)
    with database_url(settings) as url:
        asyncio.run(_prepare_database(settings, url))
        return asyncio.run(_keys_command(url, secret, args))


async def _keys_command(url: str, secret: bytes, args: argparse.Namespace) -> int:
    conn = await connect(url)
    try:
        if args.keys_command == "create":
            agent_id = getattr(args, "agent_id", None)
            if agent_id is not None and args.role != Role.AGENT:
                print("ledger: --agent-id binds agent keys only (use --role agent)", file=sys.stderr)
                return 2
            key, plaintext = await create_key(
                conn, secret, tenant_id=args.tenant, role=Role(args.role), label=args.label,
                rate_limit=args.rate_limit, agent_id=agent_id,
            )
            bound = f", agent {key.agent_id}" if key.agent_id else ""
            print(f"created key {key.key_id} (tenant {key.tenant_id}, role {key.role}{bound}); "
                  "it is shown only this once:", file=sys.stderr)
            print(plaintext)
            return 0
        if args.keys_command == "list":
            for key in await list_keys(conn, args.tenant):
                state = "revoked " + key.revoked_at.isoformat() if key.revoked_at else "active"
                print(f"{key.key_id}\t{key.tenant_id}\t{key.role}\t{state}\t"
                      f"{key.created_at.isoformat()}\t{key.label or ''}\t{key.agent_id or ''}")
            return 0
        revoked = await revoke_key(conn, args.key_id)
        if revoked is None:
            print(f"ledger: no key {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {revoked.key_id} (tenant {revoked.tenant_id}, role {revoked.role})")
        return 0
    finally:
        await conn.close()


def _rate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # argparse would name this converter ("invalid _rate value")
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _key_rate(text: str) -> int:
    value = _rate(text)
    if value > MAX_RATE_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_RATE_LIMIT:,}")
    return value


def _tenant(text: str) -> str:
    if not TENANT_ID.match(text):
        raise argparse.ArgumentTypeError(
            "must be 1-100 characters of letters, digits, '_', '.', '-', starting with a "
            "letter or digit")
    return text


def _text(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if not text.strip() or len(text) > limit or "\x00" in text:
            raise argparse.ArgumentTypeError(f"must be 1-{limit} characters, not blank")
        return text
    return check


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an ISO 8601 time, e.g. 2026-06-30T00:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    serve.add_argument("--workers", type=_rate, default=1,
                       help="worker processes sharing the port (default 1)")
    serve.add_argument("--demo", action="store_true",
                       help=f"first load the demo portfolio into tenant {BOOTSTRAP_TENANT!r} (once)")
    serve.set_defaults(handler=_serve)
    demo = commands.add_parser("demo", help="fill the database with a realistic demo portfolio")
    demo.add_argument("--cases", type=_rate, default=2000, help="number of cases (default 2000)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--tenant", default=BOOTSTRAP_TENANT, type=_tenant,
                      help="tenant to fill (default: default)")
    demo.add_argument("--end", type=_instant, default=None,
                      help="the portfolio's last instant, ISO 8601 (default: midnight UTC today)")
    demo.set_defaults(handler=_demo)
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(handler=_migrate)
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    keys.set_defaults(handler=_keys)
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("--tenant", required=True, type=_tenant,
                        help="tenant (bank) the key belongs to")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--label", type=_text(200), help="free text to recognise the key by")
    create.add_argument("--rate-limit", type=_key_rate, help="requests per second (default 200)")
    create.add_argument("--agent-id", type=_text(128),
                        help="agent keys: bind the key to this agent (it acts as them)")
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the id shown by `ledger keys list`")
    rotation_command.register(key_commands)  # trust-data: ledger keys rotate-master
    projection_commands.register(commands)
    audit_commands.register(commands)
    webhook_commands.register(commands)
    reporting_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.handler(settings, args))
    except (ConfigError, MigrationError, EmbeddedPostgresError, StartupError) as error:
        print(f"ledger: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
