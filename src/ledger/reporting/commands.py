"""``ledger reporting-role create|drop|list``: login roles for BI tools (see ``roles``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ledger.config import Settings
from ledger.db.migrations import migrate
from ledger.db.pool import connect
from ledger.db.runtime import database_url, ensure_database_exists
from ledger.reporting.roles import (
    DEFAULT_STATEMENT_TIMEOUT,
    TIMEOUT_PATTERN,
    ReportingRoleError,
    check_name,
    create_role,
    drop_role,
    list_roles,
)


def connection_url(url: str, name: str, password: str) -> str:
    """Ledger's database URL with the reporting role's credentials instead of Ledger's."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _command(settings: Settings, url: str, args: argparse.Namespace) -> int:
    if settings.uses_embedded_database:
        await ensure_database_exists(url)
    await migrate(url)
    conn = await connect(url)
    try:
        if args.reporting_command == "create":
            password = await create_role(conn, args.tenant, args.name, args.statement_timeout)
            print(f"created reporting role {args.name} for tenant {args.tenant} (SELECT on the "
                  "reporting views only); its password is shown only this once:",
                  file=sys.stderr)
            print(connection_url(url, args.name, password))
            return 0
        if args.reporting_command == "drop":
            tenant = await drop_role(conn, args.name)
            print(f"dropped reporting role {args.name} (tenant {tenant})")
            return 0
        for role in await list_roles(conn, args.tenant):
            state = "" if role.exists else "\t(role missing on the server)"
            print(f"{role.name}\t{role.tenant_id}\tstatement_timeout={role.statement_timeout}\t"
                  f"{role.created_at.isoformat()}{state}")
        return 0
    except ReportingRoleError as error:
        print(f"ledger: {error}", file=sys.stderr)
        return 1
    finally:
        await conn.close()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        return asyncio.run(_command(settings, url, args))


def _role_name(text: str) -> str:
    """A bad name is a usage error (exit 2), found before connecting."""
    try:
        check_name(text)
    except ReportingRoleError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _statement_timeout(text: str) -> str:
    """A malformed timeout is a usage error (exit 2) too, found before connecting."""
    if not TIMEOUT_PATTERN.match(text):
        raise argparse.ArgumentTypeError("must look like 500ms, 30s or 2min")
    return text


def register(commands: Any) -> None:
    """Add ``reporting-role`` to the ``ledger`` parser."""
    parser = commands.add_parser(
        "reporting-role", help="PostgreSQL login roles that read one tenant's reporting views")
    parser.set_defaults(handler=_run)
    actions = parser.add_subparsers(dest="reporting_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a role and print its URL (shown once)")
    create.add_argument("--tenant", required=True, help="the tenant whose rows it may read")
    create.add_argument("--name", required=True, type=_role_name,
                        help="the PostgreSQL role name (a-z, 0-9, _)")
    create.add_argument("--statement-timeout", default=DEFAULT_STATEMENT_TIMEOUT,
                        type=_statement_timeout,
                        help=f"longest query it may run (default {DEFAULT_STATEMENT_TIMEOUT})")
    drop = actions.add_parser("drop", help="drop a reporting role")
    drop.add_argument("--name", required=True, help="the role to drop")
    listing = actions.add_parser("list", help="list reporting roles (never passwords)")
    listing.add_argument("--tenant", help="only this tenant's roles")
