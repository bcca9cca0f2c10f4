"""Every curl example of the README's API tour works as written against the demo."""

from __future__ import annotations

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
    env.update(LEDGER_DATABASE_URL=url, LEDGER_SECRET_KEY=SECRET, LEDGER_PORT=str(port))
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
            if "| grep" in command:
                assert re.search(r"ledger_projection_lag_events\{projection=", result.stdout)
                continue
            body = json.loads(result.stdout)
            assert "code" not in body or "status" not in body, (command, body)  # not a problem
            if expectation.startswith("{\"status\""):
                assert body == json.loads(expectation)
            if "items" in body:
                assert body["items"], (command, "the demo should make this list non-empty")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def _wait_caught_up(base: str) -> None:
    """The read models have applied the demo (the tour reads them)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = httpx.get(f"{base}/ready", timeout=5).json()
        if ready["projections"] and all(p["positions_behind"] == 0 for p in ready["projections"]):
            return
        time.sleep(0.2)
    raise TimeoutError("projections did not catch up with the demo")
