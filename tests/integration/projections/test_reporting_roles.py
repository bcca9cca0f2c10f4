"""The `reporting` views and the per-tenant login roles that read them (issue 16).

Two tenants' cases go through the domain, the store and the projections; then login roles
made by ``create_role`` connect as themselves and try what a BI user could try.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import connect, create_pool
from ledger.projections import all_projections
from ledger.projections.rebuild import rebuild
from ledger.reporting.commands import connection_url
from ledger.reporting.roles import (
    VIEWS,
    ReportingRoleError,
    create_role,
    drop_role,
    list_roles,
    scram_verifier,
)

from projection_support import Writer, at, place, project_all

DOCS = Path(__file__).resolve().parents[3] / "docs" / "REPORTING.md"
# The published columns of each view, in order. Changing one breaks BI users' queries: add
# columns at the end of a view in a new migration, and update docs/REPORTING.md with them.
PINNED = {
    "cases": ["tenant_id", "case_id", "external_ref", "portfolio", "product", "currency",
              "status", "placed_at", "cohort", "placed_amount", "principal", "interest", "fees",
              "past_due_amount", "paid_total", "balance", "days_past_due", "dpd_bucket",
              "assigned_to", "promise_status", "promise_amount", "promise_due_date",
              "last_contact_at", "closed_at", "close_reason"],
    "payments": ["tenant_id", "case_id", "external_id", "amount", "currency", "received_at",
                 "reversed", "agent", "channel", "portfolio", "placed_at"],
    "promises": ["tenant_id", "case_id", "promise_id", "agent", "portfolio", "amount",
                 "currency", "made_at", "due_date", "status"],
    "contacts": ["tenant_id", "day", "agent", "channel", "attempts", "contacts", "right_party",
                 "inbound"],
    "recovery_daily": ["tenant_id", "day", "portfolio", "currency", "cases_placed",
                       "placed_amount", "payments", "recovered_amount", "reversed_payments"],
    "breaches": ["tenant_id", "case_id", "version", "ordinal", "rule", "detail", "agent",
                 "channel", "occurred_at", "recorded_at"],
}
PERSONAL = re.compile(r"name|phone|email|address|debtor", re.IGNORECASE)


@pytest.fixture(scope="module")
async def reporting_db(make_database: Callable[[], Awaitable[str]]) -> AsyncIterator[str]:
    """A database with two tenants' cases, payments, promises, contacts and a breach."""
    url = await make_database()
    await migrate(url)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        for tenant in ("bank-a", "bank-b"):
            writer = Writer(pool, tenant)
            for n in range(2 if tenant == "bank-a" else 1):
                case = place(tenant, f"{tenant}-{n}", portfolio=f"{tenant}-cards")
                case.receive_payment(external_id=f"p{n}", amount=5_000, currency="USD",
                                     received_at=at("2026-02-01T12:00"), method="card")
                case.make_promise(amount=1_000, due_date=date(2026, 3, 1),
                                  made_at=at("2026-02-02T12:00"), agent_id="ann")
                # 23:00 in the debtor's zone (UTC): outside US calling hours, a breach.
                case.record_contact(channel="phone", direction="outbound",
                                    outcome="right_party", occurred_at=at("2026-02-03T23:00"),
                                    agent_id="ann")
                await writer.save(case)
        await project_all(pool, all_projections())
        yield url
    finally:
        await pool.close()


@pytest.fixture
async def roles(reporting_db: str) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Makes reporting roles (names unique on the shared server) and drops them afterwards."""
    made: list[str] = []
    admin = await connect(reporting_db)

    async def make(tenant: str, timeout: str = "30s") -> str:
        name = f"rpt_{uuid.uuid4().hex[:12]}"
        password = await create_role(admin, tenant, name, timeout)
        made.append(name)
        return connection_url(reporting_db, name, password)

    try:
        yield make
    finally:
        for name in made:
            await drop_role(admin, name)
        await admin.close()


async def test_each_reporting_view_has_its_pinned_and_documented_columns(reporting_db):
    conn = await connect(reporting_db)
    try:
        for view, columns in PINNED.items():
            found = await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'reporting' AND table_name = $1 ORDER BY ordinal_position", view)
            assert [r[0] for r in found] == columns, view
    finally:
        await conn.close()
    assert set(PINNED) == set(VIEWS)
    documented = DOCS.read_text()
    for view, columns in PINNED.items():
        section = documented.split(f"### `reporting.{view}`", 1)[1].split("\n#", 1)[0]
        rows = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
        assert rows == columns, f"docs/REPORTING.md table of reporting.{view}"


async def test_no_view_carries_debtor_personal_data_and_amounts_come_with_a_currency():
    for view, columns in PINNED.items():
        assert not [c for c in columns if PERSONAL.search(c)], view
        if any("amount" in c for c in columns):
            assert "currency" in columns, view


async def test_a_reporting_role_sees_only_its_own_tenants_rows_in_every_view(roles):
    as_a = await asyncpg.connect(await roles("bank-a"))
    as_b = await asyncpg.connect(await roles("bank-b"))
    try:
        for view in VIEWS:
            a_rows = await as_a.fetch(f"SELECT tenant_id FROM reporting.{view}")
            b_rows = await as_b.fetch(f"SELECT tenant_id FROM reporting.{view}")
            assert a_rows and {r[0] for r in a_rows} == {"bank-a"}, view
            assert b_rows and {r[0] for r in b_rows} == {"bank-b"}, view
        assert await as_a.fetchval("SELECT count(*) FROM reporting.cases") == 2
        assert await as_b.fetchval("SELECT count(*) FROM reporting.cases") == 1
        # Asking for the other tenant explicitly changes nothing: the rows are not there.
        assert await as_a.fetchval(
            "SELECT count(*) FROM reporting.payments WHERE tenant_id = 'bank-b'") == 0
        recovered = await as_a.fetchval("SELECT sum(recovered_amount) FROM reporting.recovery_daily")
        assert recovered == 10_000
    finally:
        await as_a.close()
        await as_b.close()


@pytest.mark.parametrize("table", ["stored_events", "data_keys", "api_keys", "rm_cases",
                                   "rm_payments", "reporting_roles", "snapshots",
                                   "idempotency_keys"])
async def test_a_reporting_role_may_not_read_any_table(roles, table):
    conn = await asyncpg.connect(await roles("bank-a"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT * FROM public.{table} LIMIT 1")
    finally:
        await conn.close()


@pytest.mark.parametrize("statement", [
    "INSERT INTO reporting.contacts (tenant_id, day, agent, channel, attempts, contacts, "
    "right_party, inbound) VALUES ('bank-a', '2026-01-01', 'x', 'phone', 1, 1, 1, 0)",
    "UPDATE reporting.cases SET external_ref = 'x'",
    "DELETE FROM reporting.breaches",
    "CREATE TABLE reporting.mine (x int)",
    "CREATE TABLE public.mine (x int)",
    "CREATE VIEW reporting.all_cases AS SELECT * FROM reporting.cases",
    "TRUNCATE public.rm_cases",
])
async def test_a_reporting_role_may_not_write_anything(roles, statement):
    conn = await asyncpg.connect(await roles("bank-a"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_reporting_roles_long_query_is_cancelled_by_its_statement_timeout(roles):
    conn = await asyncpg.connect(await roles("bank-a", timeout="300ms"))
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "300ms"
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.fetch("SELECT pg_sleep(3) FROM reporting.cases")
    finally:
        await conn.close()


async def test_the_views_row_security_and_grants_survive_a_rebuild(reporting_db, roles):
    conn = await asyncpg.connect(await roles("bank-b"))
    pool = await create_pool(reporting_db, min_size=1, max_size=4)
    try:
        await rebuild(pool, all_projections())
        for view in VIEWS:
            rows = await conn.fetch(f"SELECT tenant_id FROM reporting.{view}")
            assert rows and {r[0] for r in rows} == {"bank-b"}, view
    finally:
        await pool.close()
        await conn.close()


async def test_roles_are_listed_without_secrets_and_dropped_with_their_grants(reporting_db):
    admin = await connect(reporting_db)
    name = f"rpt_{uuid.uuid4().hex[:12]}"
    try:
        await create_role(admin, "bank-a", name, "5s")
        listed = {r.name: r for r in await list_roles(admin, "bank-a")}
        assert listed[name].tenant_id == "bank-a" and listed[name].statement_timeout == "5s"
        with pytest.raises(ReportingRoleError, match="already exists"):
            await create_role(admin, "bank-b", name)
        assert await drop_role(admin, name) == "bank-a"
        assert not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
        assert name not in {r.name for r in await list_roles(admin)}
        with pytest.raises(ReportingRoleError, match="not a reporting role"):
            await drop_role(admin, "postgres")
    finally:
        await admin.close()


@pytest.mark.parametrize("name", ["ab", "Robert", "pg_monitor", "ledger_reporting", "x;drop",
                                  "a" * 64])
async def test_a_role_name_that_is_not_a_plain_identifier_is_refused(reporting_db, name):
    admin = await connect(reporting_db)
    try:
        with pytest.raises(ReportingRoleError, match="role name"):
            await create_role(admin, "bank-a", name)
    finally:
        await admin.close()


def test_the_password_verifier_matches_rfc_7677s_scram_sha_256_exchange():
    # RFC 7677, section 3: user "user", password "pencil"; the server's signature and the
    # client's proof of that exchange must check out against the verifier we store.
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = scram_verifier("pencil", salt)
    head, _, keys = verifier.partition("$")
    stored_key, server_key = (base64.b64decode(k) for k in keys.split("$")[1].split(":"))
    assert head == "SCRAM-SHA-256" and keys.startswith("4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,"
                    f"i=4096,c=biws,r={nonce}").encode()
    server_signature = hmac.digest(server_key, auth_message, "sha256")
    assert base64.b64encode(server_signature).decode() == (
        "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_key = bytes(a ^ b for a, b in zip(
        proof, hmac.digest(stored_key, auth_message, "sha256"), strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
