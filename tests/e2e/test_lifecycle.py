"""Lifecycle of a real ``ledger serve``: SIGTERM under load loses no acknowledged write; workers.

Clients post payments (each with an Idempotency-Key) as fast as they can; the server gets
SIGTERM mid-load. uvicorn stops accepting, in-flight requests finish, the pool closes. After a
restart every payment that was acknowledged with a 2xx must be there: re-posting it replays.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import asyncpg
import httpx

from ledger.db.migrations import migrate
from ledger.services.keys import Role, create_key

SECRET = "lifecycle-secret-0123456789"
CLIENTS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(url: str, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=url, LEDGER_SECRET_KEY=SECRET, LEDGER_PORT=str(port),
               LEDGER_MASTER_KEY="6c" * 32)  # required with an external database
    return subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(base)


async def _database_with_key(make_database) -> tuple[str, str]:
    url = await make_database()
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        _, key = await create_key(conn, SECRET.encode(), tenant_id="life", role=Role.INTEGRATION,
                                  rate_limit=100_000)
    finally:
        await conn.close()
    return url, key


PLACEMENT = {
    "external_ref": "LIFE-1", "portfolio": "p", "product": "credit_card", "currency": "USD",
    "principal": 10_000_000, "interest": 0, "fees": 0, "past_due_amount": 1000,
    "days_past_due": 60, "placed_at": "2026-01-05T10:00:00Z",
    "debtor": {"name": "Load Test", "timezone": "UTC", "jurisdiction": "US-TX"}}


def _payment(external_id: str) -> dict:
    return {"external_id": external_id, "amount": 100, "currency": "USD",
            "received_at": "2026-02-01T10:00:00Z", "method": "ach"}


async def test_sigterm_during_load_loses_no_acknowledged_write(make_database):
    url, key = await _database_with_key(make_database)
    headers = {"Authorization": f"Bearer {key}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(url, port)
    _wait_healthy(base, server)
    case = httpx.post(f"{base}/v1/cases", json=PLACEMENT, headers=headers, timeout=10).json()
    target = f"{base}/v1/cases/{case['case_id']}/payments"
    acknowledged: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                external_id = f"PMT-{uuid.uuid4().hex[:12]}"
                try:
                    response = http.post(target, json=_payment(external_id),
                                         headers={**headers, "Idempotency-Key": external_id})
                except httpx.TransportError:
                    if server.poll() is not None:
                        return
                    continue
                if 200 <= response.status_code < 300:
                    acknowledged.append(external_id)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    server.send_signal(signal.SIGTERM)
    try:
        _, stderr = server.communicate(timeout=60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert server.returncode in (0, 128 + signal.SIGTERM), stderr[-3000:]
    assert len(acknowledged) > 20, "the load never got going"
    # Every stderr line is a JSON log record; shutdown was logged, no traceback.
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any("shutdown" in str(r.get("event", "")).lower() for r in records), records[-5:]
    assert "Traceback" not in stderr

    restarted = _start(url, port)
    try:
        _wait_healthy(base, restarted)
        view = httpx.get(f"{base}/v1/cases/{case['case_id']}", headers=headers, timeout=10).json()
        assert view["paid_total"] >= 100 * len(acknowledged)
        for external_id in acknowledged[:3] + acknowledged[-3:]:
            again = httpx.post(target, json=_payment(external_id), timeout=10,
                               headers={**headers, "Idempotency-Key": external_id})
            assert again.status_code == 201, again.text
            assert again.headers["Idempotency-Replayed"] == "true"
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.communicate(timeout=60)
    # Every acknowledged payment is an event of the case, stored exactly once.
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT state FROM stored_events WHERE originator_id = $1 AND topic LIKE "
            "'%PaymentReceived'", uuid.UUID(case["case_id"]))
    finally:
        await conn.close()
    stored = [bytes(row["state"]) for row in rows]
    for external_id in acknowledged:
        assert sum(external_id.encode() in state for state in stored) == 1, external_id


async def test_serve_with_two_workers_answers_and_merges_metrics(make_database):
    url, key = await _database_with_key(make_database)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start(url, port, "--workers", "2")
    try:
        _wait_healthy(base, server)
        for _ in range(10):
            assert httpx.get(f"{base}/v1/cases?limit=1", timeout=5,
                             headers={"Authorization": f"Bearer {key}"}).status_code in (200, 403)
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert "ledger_http_requests_total" in metrics and "ledger_projection_lag_events" in metrics
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode in (0, 128 + signal.SIGTERM), stderr[-3000:]
