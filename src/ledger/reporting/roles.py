"""Per-tenant PostgreSQL login roles that may read the ``reporting`` views and nothing else.

The views and their row security come from migration 0140: the views are owned by the
``ledger_reporting`` role, and a restrictive policy on the rm_ tables lets that owner see only
the rows of the tenant registered for the login role asking (``reporting_roles``). A role made
here is granted USAGE on the schema and SELECT on the views: no table, no event store, no data
keys, no writes. Its password is generated, sent to the server only as a SCRAM-SHA-256
verifier (so it never appears in server logs) and shown once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

VIEWS = ("cases", "payments", "contacts", "promises", "recovery_daily", "breaches")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
DEFAULT_STATEMENT_TIMEOUT = "30s"
TIMEOUT_PATTERN = re.compile(r"^[1-9][0-9]*(ms|s|min)$")
CONNECTION_LIMIT = 10
SCRAM_ITERATIONS = 4096

REGISTER_SQL = "INSERT INTO reporting_roles (role_name, tenant_id) VALUES ($1, $2)"
UNREGISTER_SQL = "DELETE FROM reporting_roles WHERE role_name = $1 RETURNING tenant_id"
LIST_SQL = """
    SELECT r.role_name, r.tenant_id, r.created_at, (p.rolname IS NOT NULL) AS exists,
           coalesce((SELECT s FROM unnest(p.rolconfig) s WHERE s LIKE 'statement_timeout=%'), '')
    FROM reporting_roles r LEFT JOIN pg_roles p ON p.rolname = r.role_name
    WHERE $1::text IS NULL OR r.tenant_id = $1
    ORDER BY r.tenant_id, r.role_name
"""
# Identifiers and literals cannot be bind parameters in DDL: the server quotes them (format %I/%L).
CREATE_ROLE_SQL = ("SELECT format('CREATE ROLE %I LOGIN NOINHERIT CONNECTION LIMIT ' || $3::int "
                   "|| ' PASSWORD %L', $1::text, $2::text)")
SETTINGS_SQL = ("SELECT format('ALTER ROLE %I SET statement_timeout = %L', $1::text, $2::text), "
                "format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', "
                "$1::text, '60s'), "
                "format('ALTER ROLE %I SET search_path = reporting', $1::text)")
GRANT_SQL = ("SELECT format('GRANT USAGE ON SCHEMA reporting TO %I', $1::text), "
             "format('GRANT SELECT ON %s TO %I', $2::text, $1::text)")
DROP_SQL = "SELECT format('DROP OWNED BY %1$I', $1::text), format('DROP ROLE %1$I', $1::text)"


class ReportingRoleError(Exception):
    """A reporting-role command that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class ReportingRole:
    name: str
    tenant_id: str
    created_at: datetime
    exists: bool
    statement_timeout: str


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or name.startswith("pg_") or name == "ledger_reporting":
        raise ReportingRoleError(
            f"role name {name!r} must be 3-63 characters of a-z, 0-9 and _, start with a "
            "letter, and not start with pg_ or be ledger_reporting")


async def create_role(conn: asyncpg.Connection, tenant_id: str, name: str,
                      statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT) -> str:
    """Create login role ``name`` reading tenant ``tenant_id``'s views; returns its password."""
    check_name(name)
    if not tenant_id.strip():
        raise ReportingRoleError("the tenant must not be empty")
    if not TIMEOUT_PATTERN.match(statement_timeout):
        raise ReportingRoleError("the statement timeout must look like 500ms, 30s or 2min")
    if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
        raise ReportingRoleError(f"a PostgreSQL role named {name!r} already exists")
    password = secrets.token_urlsafe(24)
    views = ", ".join(f"reporting.{view}" for view in VIEWS)
    try:
        async with conn.transaction():
            await conn.execute(await conn.fetchval(
                CREATE_ROLE_SQL, name, scram_verifier(password), CONNECTION_LIMIT))
            for statement in await conn.fetchrow(SETTINGS_SQL, name, statement_timeout):
                await conn.execute(statement)
            for statement in await conn.fetchrow(GRANT_SQL, name, views):
                await conn.execute(statement)
            await conn.execute(REGISTER_SQL, name, tenant_id)
    except asyncpg.InsufficientPrivilegeError as error:
        raise ReportingRoleError(
            f"the database user may not create roles ({error}); run this command with a "
            "user that has CREATEROLE") from None
    return password


async def drop_role(conn: asyncpg.Connection, name: str) -> str:
    """Drop a role made by ``create_role``; returns the tenant it read."""
    async with conn.transaction():
        tenant_id = await conn.fetchval(UNREGISTER_SQL, name)
        if tenant_id is None:
            raise ReportingRoleError(f"{name!r} is not a reporting role of this database")
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
            try:
                for statement in await conn.fetchrow(DROP_SQL, name):
                    await conn.execute(statement)
            except asyncpg.DependentObjectsStillExistError as error:
                raise ReportingRoleError(
                    f"role {name!r} still has privileges in another database: {error}") from None
    return str(tenant_id)


async def list_roles(conn: asyncpg.Connection, tenant_id: str | None = None) -> list[ReportingRole]:
    rows = await conn.fetch(LIST_SQL, tenant_id)
    return [ReportingRole(row[0], row[1], row[2], row[3], row[4].partition("=")[2])
            for row in rows]
