"""Real ``ledger`` processes for the end-to-end reliability tests: start, probe, kill, restart.

Every server listens on 127.0.0.1 on a free port and logs to a file (never a pipe: a long run
would fill the pipe and block the server). ``FULL`` switches the tests to their on-demand
sizes (``LEDGER_FULL_RELIABILITY=1``); the default sizes keep CI to minutes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import atexit
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from ledger.db.embedded import EmbeddedPostgres, _run_as_user
from ledger.db.migrations import migrate
from ledger.services.keys import Role, create_key

FULL = os.environ.get("LEDGER_FULL_RELIABILITY") == "1"
SECRET = "reliability-secret-0123456789abcdef"
MASTER_KEY = "5e" * 32  # a fixed test-only master key: every process must use the same one
START_TIMEOUT = 60.0


def sized(ci: int, full: int) -> int:
    """The CI size of a load, or the on-demand size when ``LEDGER_FULL_RELIABILITY=1``."""
    return full if FULL else ci


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ledger_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a ledger process on ``url`` (inherited LEDGER_* settings dropped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=url, LEDGER_SECRET_KEY=SECRET, LEDGER_MASTER_KEY=MASTER_KEY,
               LEDGER_LOG_LEVEL="warning")
    env.update(extra)
    return env


_STARTED: list[LedgerProcess] = []


def _stop_started() -> None:
    """At exit (a failed or interrupted run included): no ``ledger`` child outlives the suite."""
    for child in _STARTED:
        if child.running():
            child.kill()


atexit.register(_stop_started)


class LedgerProcess:
    """One ``python -m ledger.cli ...`` child with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.args = args
        self.env = env
        self.log_dir = Path(tempfile.mkdtemp(prefix="ledger-e2e-log-"))
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"run-{self.starts}.log"

    def start(self) -> LedgerProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "ledger.cli", *self.args],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if self not in _STARTED:
            _STARTED.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self.log_dir.glob("run-*.log")))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)

    def close(self) -> None:
        if self.running():
            self.terminate()
        shutil.rmtree(self.log_dir, ignore_errors=True)


class Server(LedgerProcess):
    """``ledger serve`` on its own port."""

    def __init__(self, url: str, *extra_args: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", *extra_args], ledger_env(url, LEDGER_PORT=str(self.port), **env))

    def start(self) -> Server:
        super().start()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError("ledger serve exited:\n" + self.output()[-3000:])
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"ledger serve not healthy after {timeout} s")

    def restart(self) -> None:
        self.kill()
        self.start()


@contextmanager
def serving(url: str, *extra_args: str, **env: str) -> Iterator[Server]:
    server = Server(url, *extra_args, **env)
    try:
        server.start()
        yield server
    finally:
        server.close()


def run_ledger(url: str, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a ledger command to completion (``verify``, ``rebuild``, ``keys`` …)."""
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], env=ledger_env(url, **env),
                          capture_output=True, text=True, timeout=timeout, check=False)


async def migrated_database(make_database: Any) -> str:
    url = await make_database()
    await migrate(url)
    return str(url)


async def make_key(url: str, tenant: str, role: str | Role, rate_limit: int | None = 100_000) -> str:
    conn = await asyncpg.connect(url)
    try:
        _, key = await create_key(conn, SECRET.encode(), tenant_id=tenant, role=Role(role),
                                  rate_limit=rate_limit)
    finally:
        await conn.close()
    return key


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    rows = await fetch(url, sql, *args)
    return rows[0][0] if rows else None


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def placement(ref: str, principal: int = 10_000_000, **changes: Any) -> dict[str, Any]:
    body = {
        "external_ref": ref, "portfolio": "reliability", "product": "credit_card",
        "currency": "USD", "principal": principal, "interest": 0, "fees": 0,
        "past_due_amount": 1000, "days_past_due": 60, "placed_at": "2026-01-05T10:00:00Z",
        "debtor": {"name": "Load Test", "timezone": "UTC", "jurisdiction": "US-TX"}}
    body.update(changes)
    return body


def payment(external_id: str, amount: int = 100) -> dict[str, Any]:
    return {"external_id": external_id, "amount": amount, "currency": "USD",
            "received_at": "2026-02-01T10:00:00Z", "method": "ach"}


def place_cases(base: str, key: str, prefix: str, count: int) -> list[str]:
    ids = []
    with httpx.Client(timeout=30) as http:
        for n in range(count):
            response = http.post(f"{base}/v1/cases", json=placement(f"{prefix}-{n}"), headers=bearer(key))
            assert response.status_code in (200, 201), response.text
            ids.append(response.json()["case_id"])
    return ids


def peak_rss_kib(pid: int) -> int:
    """The high-water mark of a live process's resident memory (VmHWM), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


class Cluster:
    """An embedded PostgreSQL cluster of a test's own, which the test may stop and start.

    The shared test server and the machine's PostgreSQL are never touched: outages happen here.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ledger-e2e-pg-"))
        self.root.chmod(0o755)  # the server runs as its own user when tests run as root
        self.server = EmbeddedPostgres(self.root / "cluster")

    def __enter__(self) -> Cluster:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if not self.server.is_running():
                self.server._start_server(_run_as_user())  # so stop() finds it running
        finally:
            self.server.stop()
            shutil.rmtree(self.root, ignore_errors=True)

    async def database(self, name: str = "ledger") -> str:
        """Create database ``name`` on this cluster, migrated; returns its URL."""
        conn = await asyncpg.connect(self.server.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')  # our own constant name
        finally:
            await conn.close()
        url = self.server.url(name)
        await migrate(url)
        return url

    def stop_database(self) -> None:
        self.server._pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"])

    def start_database(self) -> None:
        self.server._start_server(_run_as_user())


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def ago(**delta: float) -> str:
    """An RFC 3339 UTC time ``delta`` before now (business times may not be in the future)."""
    return (datetime.now(UTC) - timedelta(**delta)).isoformat().replace("+00:00", "Z")


ALL_ROLES = frozenset(r.value for r in Role)
AGENT_WORK = frozenset({"agent", "supervisor"})
SHARED = frozenset({"integration", "agent", "supervisor"})
READERS = frozenset({"analyst", "supervisor", "auditor"})


def _bodies() -> dict[tuple[str, str], Any]:
    return {
        ("POST", "/v1/cases"): lambda: placement(f"R-{uuid.uuid4().hex[:10]}"),
        ("POST", "/v1/cases/{case_id}/payments"): lambda: payment(f"P-{uuid.uuid4().hex[:10]}"),
        ("POST", "/v1/cases/{case_id}/payments/{external_id}/reversal"):
            lambda: {"reason": "bounced", "reversed_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/adjustments"):
            lambda: {"kind": "fee", "amount": 100, "reason": "late fee", "occurred_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/contacts"):
            lambda: {"channel": "letter", "direction": "outbound", "outcome": "delivered",
                     "occurred_at": ago(minutes=1), "agent_id": "agent-1", "note": "sent"},
        ("POST", "/v1/cases/{case_id}/promises"):
            lambda: {"amount": 100, "due_date": "2999-01-01", "made_at": ago(minutes=1),
                     "agent_id": "agent-1"},
        ("POST", "/v1/cases/{case_id}/arrangements"):
            lambda: {"kind": "installments", "waive_interest": False, "agreed_at": ago(minutes=1),
                     "installments": [{"due_date": "2999-01-01", "amount": 100}]},
        ("POST", "/v1/cases/{case_id}/notes"): lambda: {"text": "called back"},
        ("POST", "/v1/cases/{case_id}/disputes"):
            lambda: {"reason": "not mine", "opened_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/disputes/{dispute_id}/resolution"):
            lambda: {"outcome": "rejected", "resolved_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/cease"):
            lambda: {"channels": ["sms"], "received_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/holds"):
            lambda: {"kind": "hardship", "starts_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/holds/{hold_id}/release"):
            lambda: {"released_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/assignment"): lambda: {"agent_id": "agent-7"},
        ("POST", "/v1/cases/{case_id}/escalation"):
            lambda: {"reason": "legal review", "escalated_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/closure"):
            lambda: {"reason": "recalled", "closed_at": ago(minutes=1)},
        ("POST", "/v1/cases/{case_id}/reopening"):
            lambda: {"reason": "recall undone", "reopened_at": ago(minutes=1)},
        ("POST", "/v1/contact-permissions"):
            lambda: {"channel": "phone", "at": ago(minutes=1), "case_ids": [str(uuid.uuid4())]},
        ("POST", "/v1/keys"): lambda: {"role": "analyst", "label": "made by a test"},
        ("POST", "/v1/cases/{case_id}/erasure"): lambda: {"reason": "debtor request"},
        # negotiation (issue 15)
        ("PUT", "/v1/policies/{portfolio}"):
            lambda: {"settlement_min_pct": [{"dpd_min": 0, "pct": 80}], "max_installments": 12,
                     "min_installment": 2500, "max_term_days": 365,
                     "authority": {"agent": {"max_waiver_pct": 10, "min_settlement_pct": 80}}},
        ("POST", "/v1/approvals/{approval_id}/decision"): lambda: {"decision": "decline"},
        ("POST", "/v1/cases/{case_id}/complaints"):
            lambda: {"category": "billing", "received_at": ago(minutes=1), "channel": "email",
                     "summary": "wrong fee", "pause_collection": False},
        ("POST", "/v1/cases/{case_id}/complaints/{complaint_id}/resolution"):
            lambda: {"outcome": "rejected", "root_cause": "no_fault_found",
                     "resolved_at": ago(minutes=1)},
        # scores and strategies (issue 12)
        ("PUT", "/v1/cases/{case_id}/scores/{model}"):
            lambda: {"value": 700, "model_version": "bank-7", "scored_at": ago(minutes=1)},
        ("POST", "/v1/strategies"):
            lambda: {"name": "reliability-default", "portfolios": ["reliability"],
                     "segments": [{"name": "late", "when": {"dpd_min": 91},
                                   "steps": [{"day": 0, "action": "call"},
                                             {"day": 21, "action": "escalate"}]},
                                  {"name": "rest", "when": {},
                                   "steps": [{"day": 0, "action": "call"}]}]},
        ("POST", "/v1/strategies/{strategy_id}/activation"): lambda: {"version": 1},
        # messages (issue 13)
        ("POST", "/v1/templates"):
            lambda: {"name": MESSAGE_TEMPLATE, "channel": "sms", "locale": "en_US",
                     "body": "{{ agency_name }}: {{ balance }} {{ currency }} due. {{ opt_out }}"},
        ("POST", "/v1/templates/{name}/preview"): lambda: {"case_id": str(uuid.uuid4())},
        ("POST", "/v1/cases/{case_id}/messages"): lambda: {"template": MESSAGE_TEMPLATE},
        ("POST", "/v1/cases/{case_id}/validation-notice"):
            lambda: {"sent_at": ago(minutes=1), "itemization_date": "2026-01-05"},
        ("POST", "/v1/messages/{message_id}/events"):
            lambda: {"status": "delivered", "at": ago(minutes=1), "detail": "handset"},
        ("POST", "/v1/inbound/sms"):
            lambda: {"from": "+15550100999", "text": "call me later", "received_at": ago(minutes=1)},
        ("POST", "/v1/inbound/email-unsubscribe"): lambda: {"email": "nobody@example.com"},
        # webhooks (issue 14): the allow-listed loopback host of WEBHOOK_ENV (nothing listens)
        ("POST", "/v1/webhook-endpoints"):
            lambda: {"url": "http://127.0.0.1:9/hooks", "event_types": ["PaymentReceived"],
                     "description": "made by a test"},
        ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): lambda: {"enabled": True},
    }


MESSAGE_TEMPLATE = "reliability-reminder"
WEBHOOK_ENV = {"LEDGER_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
"""Server settings under which the webhook endpoint body above is valid."""


VALID_BODIES = _bodies()
"""A valid JSON body for every POST route that takes one (times relative to now)."""

ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/v1/cases/{case_id}"): ALL_ROLES,
    ("GET", "/v1/cases/by-ref/{external_ref}"): ALL_ROLES,
    ("POST", "/v1/cases/import"): frozenset({"integration"}),
    ("GET", "/v1/cases"): READERS,
    ("POST", "/v1/cases"): frozenset({"integration"}),
    ("POST", "/v1/cases/{case_id}/payments"): frozenset({"integration"}),
    ("POST", "/v1/cases/{case_id}/payments/{external_id}/reversal"): frozenset({"integration"}),
    ("POST", "/v1/cases/{case_id}/adjustments"): frozenset({"supervisor"}),
    ("POST", "/v1/cases/{case_id}/contacts"): AGENT_WORK,
    ("POST", "/v1/cases/{case_id}/promises"): AGENT_WORK,
    ("POST", "/v1/cases/{case_id}/arrangements"): AGENT_WORK,
    ("POST", "/v1/cases/{case_id}/notes"): AGENT_WORK,
    ("POST", "/v1/cases/{case_id}/disputes"): SHARED,
    ("POST", "/v1/cases/{case_id}/disputes/{dispute_id}/resolution"): SHARED,
    ("POST", "/v1/cases/{case_id}/cease"): SHARED,
    ("POST", "/v1/cases/{case_id}/holds"): SHARED,
    ("POST", "/v1/cases/{case_id}/holds/{hold_id}/release"): SHARED,
    ("POST", "/v1/cases/{case_id}/assignment"): frozenset({"supervisor"}),
    ("POST", "/v1/cases/{case_id}/escalation"): frozenset({"supervisor"}),
    ("POST", "/v1/cases/{case_id}/closure"): frozenset({"integration", "supervisor"}),
    ("POST", "/v1/cases/{case_id}/reopening"): frozenset({"integration", "supervisor"}),
    ("POST", "/v1/contact-permissions"): AGENT_WORK,
    ("GET", "/v1/cases/{case_id}/contact-permission"): AGENT_WORK,
    ("GET", "/v1/events"): frozenset({"integration", "auditor"}),
    ("GET", "/v1/keys"): frozenset(),
    ("POST", "/v1/keys"): frozenset(),
    ("POST", "/v1/keys/{key_id}/revocation"): frozenset(),
    ("GET", "/v1/work-queue"): AGENT_WORK,
    ("GET", "/v1/metrics/contacts"): READERS,
    ("GET", "/v1/metrics/liquidation"): READERS,
    ("GET", "/v1/metrics/promises"): READERS,
    ("GET", "/v1/metrics/recovery"): READERS,
    ("GET", "/v1/metrics/roll-rates"): READERS,
    ("GET", "/v1/compliance/breaches"): frozenset({"supervisor"}),
    ("GET", "/v1/audit"): frozenset({"auditor"}),
    ("GET", "/v1/cases/{case_id}/history"): frozenset({"supervisor", "auditor"}),
    ("GET", "/v1/cases/{case_id}/statement"): frozenset({"auditor"}),
    ("GET", "/v1/cases/{case_id}/verify"): frozenset({"auditor"}),
    ("POST", "/v1/cases/{case_id}/erasure"): frozenset(),
    # negotiation (issue 15)
    ("PUT", "/v1/policies/{portfolio}"): frozenset({"supervisor"}),
    ("GET", "/v1/policies/{portfolio}"): ALL_ROLES,
    ("GET", "/v1/cases/{case_id}/offers"): frozenset({"agent", "supervisor", "integration"}),
    ("GET", "/v1/approvals"): frozenset({"supervisor", "auditor"}),
    ("GET", "/v1/approvals/{approval_id}"): frozenset({"agent", "supervisor", "auditor",
                                                       "integration"}),
    ("POST", "/v1/approvals/{approval_id}/decision"): frozenset({"supervisor"}),
    ("POST", "/v1/cases/{case_id}/complaints"): SHARED,
    ("POST", "/v1/cases/{case_id}/complaints/{complaint_id}/resolution"): SHARED,
    ("GET", "/v1/cases/{case_id}/complaints"): ALL_ROLES,
    ("GET", "/v1/metrics/complaints"): READERS,
    ("GET", "/v1/metrics/approvals"): READERS,
    # scores and strategies (issue 12): every role reads strategies and plans (README)
    ("PUT", "/v1/cases/{case_id}/scores/{model}"): frozenset({"integration"}),
    ("POST", "/v1/strategies"): frozenset({"supervisor"}),
    ("POST", "/v1/strategies/{strategy_id}/activation"): frozenset({"supervisor"}),
    ("GET", "/v1/strategies"): ALL_ROLES,
    ("GET", "/v1/strategies/{strategy_id}"): ALL_ROLES,
    ("GET", "/v1/cases/{case_id}/plan"): ALL_ROLES,
    ("GET", "/v1/dialer-list"): AGENT_WORK,
    # messages (issue 13)
    ("POST", "/v1/templates"): frozenset({"supervisor"}),
    ("POST", "/v1/templates/{name}/preview"): AGENT_WORK,
    ("POST", "/v1/cases/{case_id}/messages"): SHARED,
    ("POST", "/v1/cases/{case_id}/validation-notice"): SHARED,
    ("GET", "/v1/cases/{case_id}/messages"): SHARED | {"auditor"},
    ("GET", "/v1/messages/{message_id}"): SHARED | {"auditor"},
    ("GET", "/v1/messages/{message_id}/document"): SHARED | {"auditor"},
    ("POST", "/v1/messages/{message_id}/events"): frozenset({"integration"}),
    ("POST", "/v1/inbound/sms"): frozenset({"integration"}),
    ("POST", "/v1/inbound/email-unsubscribe"): frozenset({"integration"}),
    ("GET", "/v1/letters"): frozenset({"integration", "supervisor"}),
    # webhooks (issue 14)
    ("POST", "/v1/webhook-endpoints"): frozenset({"integration"}),
    ("GET", "/v1/webhook-endpoints"): frozenset({"integration"}),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): frozenset({"integration"}),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): frozenset({"integration"}),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): frozenset({"integration"}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/secret-rotation"): frozenset({"integration"}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): frozenset({"integration"}),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): frozenset({"integration"}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redelivery"):
        frozenset({"integration"}),
}
"""Who may use each /v1 route besides admin (API.md, "Conventions"; README, "Read models")."""

QUERIES = {
    "/v1/cases/{case_id}/contact-permission": {"channel": "phone"},
    "/v1/work-queue": {"agent_id": "agent-1"},
    "/v1/metrics/contacts": {"group_by": "agent"},
    "/v1/metrics/liquidation": {"cohort": "2026-01"},
    "/v1/metrics/promises": {"group_by": "agent"},
    "/v1/metrics/recovery": {"group_by": "portfolio"},
    "/v1/metrics/roll-rates": {"month": "2026-02"},
    "/v1/metrics/complaints": {"group_by": "category"},
    "/v1/metrics/approvals": {"group_by": "decision"},
    "/v1/dialer-list": {"limit": "5"},
    "/v1/letters": {"date": "2026-01-05"},
}


def openapi_operations(base: str) -> set[tuple[str, str]]:
    """Every (METHOD, path template) of the live server's /v1 API."""
    doc = httpx.get(f"{base}/schema/openapi.json", timeout=30).json()
    return {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops
            if path.startswith("/v1/")}
