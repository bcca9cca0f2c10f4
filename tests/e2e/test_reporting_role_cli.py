"""``ledger reporting-role`` as an operator runs it: on an external server and on the embedded
one, the printed URL logs a BI tool in to its tenant's views and nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from processes import migrated_database, run_ledger
from test_serve import _free_port, _serve, _wait_for


async def _check_login(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_user") == name
        assert await conn.fetchval("SELECT count(*) FROM cases") == 0  # search_path: reporting
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT 1 FROM public.stored_events LIMIT 1")
    finally:
        await conn.close()


async def test_create_list_and_drop_on_an_external_server(make_database):
    url = await migrated_database(make_database)
    name = f"bi_{uuid.uuid4().hex[:10]}"
    created = run_ledger(url, "reporting-role", "create", "--tenant", "bank-x", "--name", name)
    assert created.returncode == 0, created.stderr
    login = created.stdout.strip()
    assert login.startswith(f"postgresql://{name}:") and "shown only this once" in created.stderr
    await _check_login(login, name)
    listed = run_ledger(url, "reporting-role", "list", "--tenant", "bank-x")
    assert listed.stdout.startswith(f"{name}\tbank-x\tstatement_timeout=30s")
    assert login.split(":")[2].split("@")[0] not in listed.stdout  # never the password again
    again = run_ledger(url, "reporting-role", "create", "--tenant", "bank-x", "--name", name)
    assert again.returncode == 1 and "already exists" in again.stderr
    dropped = run_ledger(url, "reporting-role", "drop", "--name", name)
    assert dropped.returncode == 0, dropped.stderr
    with pytest.raises(asyncpg.PostgresError):
        await asyncpg.connect(login)


async def test_create_on_the_embedded_server_prints_a_url_through_its_socket():
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-e2e-bi-"))
    data_dir.chmod(0o755)  # the server runs as its own user when tests run as root
    port = _free_port()
    server = _serve(data_dir, port)  # keeps the embedded PostgreSQL running meanwhile
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/health", time.monotonic() + 90)
        assert health.status_code == 200
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env["LEDGER_DATA_DIR"] = str(data_dir)
        created = subprocess.run(
            [sys.executable, "-m", "ledger.cli", "reporting-role", "create", "--tenant",
             "default", "--name", "bi_embedded"], env=env, capture_output=True, text=True,
            timeout=120, check=False)
        assert created.returncode == 0, created.stderr
        login = created.stdout.strip()
        assert "host=" in login and login.startswith("postgresql://bi_embedded:")
        await _check_login(login, "bi_embedded")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
