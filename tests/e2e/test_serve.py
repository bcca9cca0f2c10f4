"""`ledger serve` as a real process on the embedded database."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ledger.db.embedded import EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(data_dir), LEDGER_PORT=str(port))
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_serve_starts_on_the_embedded_database_answers_probes_and_stops_it_on_sigterm():
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-e2e-"))
    data_dir.chmod(0o755)
    port = _free_port()
    process = _serve(data_dir, port)
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/health", time.monotonic() + 60)
        assert health.status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["migrations"] == "applied"
        assert EmbeddedPostgres(data_dir / "postgres").is_running()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}/v1" in output
    assert f"http://127.0.0.1:{port}/schema" in output
    assert not EmbeddedPostgres(data_dir / "postgres").is_running()

    # The first start printed an admin key; it works, and a restart does not print another.
    admin_key = re.search(r"\b(lk_[A-Za-z0-9_-]+)", output)
    assert admin_key is not None, output
    process = _serve(data_dir, port)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", time.monotonic() + 60)
        keys = httpx.get(f"http://127.0.0.1:{port}/v1/keys", timeout=5,
                         headers={"Authorization": f"Bearer {admin_key[1]}"})
        assert keys.status_code == 200, keys.text
    finally:
        process.send_signal(signal.SIGTERM)
        again, _ = process.communicate(timeout=60)
    assert "lk_" not in again
