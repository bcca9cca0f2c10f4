"""Every curl example of the README's API tour works as written against the demo."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from ledger.db.migrations import migrate
from ledger.services.keys import Role, create_key

from test_lifecycle import SECRET, _free_port, _wait_healthy

README = Path(__file__).resolve().parents[2] / "README.md"


def tour() -> list[tuple[str, str]]:
    """(command, expectation) pairs of the tour block: a curl line and its ``# →`` line."""
    block = README.read_text().split("The tour (every command", 1)[1].split("```sh", 1)[1]
    lines = block.split("```", 1)[0].strip().splitlines()
    return [(lines[i], lines[i + 1].removeprefix("# →").strip()) for i in range(0, len(lines), 2)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_every_curl_example_in_the_readme_answers_as_described(make_database):
    url = await make_database()
    await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        _, key = await create_key(conn, SECRET.encode(), tenant_id="default", role=Role.ADMIN)
    finally:
        await conn.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=url, LEDGER_SECRET_KEY=SECRET, LEDGER_PORT=str(port),
               LEDGER_MASTER_KEY="5e" * 32)  # required with an external database
    subprocess.run([sys.executable, "-m", "ledger.cli", "demo", "--cases", "150"], env=env,
                   check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server)
        _wait_caught_up(base)
        examples = tour()
        assert len(examples) >= 6
        for command, expectation in examples:
            assert command.startswith("curl ")
            result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                    timeout=30, env={**env, "LEDGER_URL": base, "LEDGER_KEY": key})
            assert result.returncode == 0 and result.stdout.strip(), (command, result.stderr)
            if "| grep" in command and "/dashboard" in command:
                assert "<h1>Sign in to the Ledger dashboard</h1>" in result.stdout
                continue
            if "| grep" in command:
                assert re.search(r"ledger_projection_lag_events\{projection=", result.stdout)
                continue
            if "text/csv" in command:
                rows = list(csv.reader(io.StringIO(result.stdout)))
                assert rows[0][:3] == ["group", "placed_amount", "recovered_amount"], rows[:1]
                assert len(rows) > 1 and all(re.match(r"^\d{4}-\d{2}$", r[0]) for r in rows[1:])
                continue
            body = json.loads(result.stdout)
            assert "code" not in body or "status" not in body, (command, body)  # not a problem
            if expectation.startswith("{\"status\""):
                assert body == json.loads(expectation)
            if "items" in body:
                assert body["items"], (command, "the demo should make this list non-empty")
            checked = [check for fragment, check in DESCRIBED.items() if fragment in command]
            assert len(checked) == 1 or expectation.startswith("{"), (command, "no check for it")
            for check in checked:
                check(body)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def _case_view(body: dict) -> None:
    assert body["external_ref"] == "DEMO-00001"
    assert {"balance", "paid_total", "status", "dpd_bucket", "active_promise",
            "arrangement"} <= body.keys()


def _promised_cases(body: dict) -> None:
    assert 1 <= len(body["items"]) <= 2 and "next_cursor" in body
    assert all(item["status"] == "promised" for item in body["items"])


def _work_queue(body: dict) -> None:
    items = body["items"]
    assert 1 <= len(items) <= 3
    assert all(item["case"]["assigned_to"] == "agent-01" for item in items)
    assert all("next_contact_allowed_at" in item for item in items)
    broken = [item["broken_promise"] for item in items]
    assert broken == sorted(broken, reverse=True)  # broken promises first


def _recovery_by_agent(body: dict) -> None:
    for item in body["items"]:
        assert {"group", "placed_amount", "recovered_amount", "recovery_rate", "cases",
                "cases_paid"} <= item.keys()


def _breaches(body: dict) -> None:
    assert 1 <= len(body["items"]) <= 3
    assert all(item["rule"] and "agent_id" in item for item in body["items"])


def _scheduler_trail(body: dict) -> None:
    assert 1 <= len(body["items"]) <= 3
    for item in body["items"]:
        assert item["actor"] == "system:scheduler"
        assert item["type"] in ("PromiseBroken", "ArrangementDefaulted")
        assert item["occurred_at"] and item["recorded_at"]


def _plan(body: dict) -> None:
    assert body["arm"] in ("champion", "challenger") and body["segment"]
    assert body["steps"] and all(s["status"] in ("done", "due", "upcoming", "missed")
                                 for s in body["steps"])
    assert "next" in body and "paused" in body


def _dialer_list(body: dict) -> None:
    assert 1 <= len(body["items"]) <= 3
    for item in body["items"]:
        assert item["phone"] and item["arm"] in ("champion", "challenger") and item["due_at"]
    due = [item["due_at"] for item in body["items"]]
    assert due == sorted(due)  # most overdue first


def _recovery_by_arm(body: dict) -> None:
    groups = {item["group"] for item in body["items"]}
    assert {"champion", "challenger"} <= groups <= {"champion", "challenger", "none"}


DESCRIBED = {
    "/v1/cases/by-ref/": _case_view,
    "/v1/cases?status=promised": _promised_cases,
    "/v1/work-queue": _work_queue,
    "/v1/metrics/recovery?group_by=agent": _recovery_by_agent,
    "/v1/metrics/recovery?group_by=arm": _recovery_by_arm,
    "/plan": _plan,
    "/v1/dialer-list": _dialer_list,
    "/v1/compliance/breaches": _breaches,
    "/v1/audit?actor=system:scheduler": _scheduler_trail,
}
"""What each tour line's ``# →`` says, checked on the answer (keyed by a part of its URL)."""


def _wait_caught_up(base: str) -> None:
    """The read models have applied the demo (the tour reads them)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = httpx.get(f"{base}/ready", timeout=5).json()
        if ready["projections"] and all(p["positions_behind"] == 0 for p in ready["projections"]):
            return
        time.sleep(0.2)
    raise TimeoutError("projections did not catch up with the demo")
