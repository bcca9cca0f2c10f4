"""HTTP benchmark of the API against a bare litestar endpoint, side by side, with ``wrk``.

    python -m bench.api_http [--runs 3] [--seconds 10] [--connections 32] [--cases 2000]

Starts an embedded PostgreSQL (or uses ``LEDGER_DATABASE_URL``), places ``--cases`` cases,
then runs, each as one uvicorn worker on 127.0.0.1, in turn per run:

* ``bare``: litestar + one asyncpg primary-key read of a stored event (the ceiling);
* ``case GET``: ``GET /v1/cases/{id}`` (auth, snapshot + events load, view, ETag);
* ``payment POST``: ``POST /v1/cases/{id}/payments`` with a fresh ``Idempotency-Key`` and
  ``external_id`` per request (auth, load, domain, append with the idempotency record).

Prints the median of the runs for each and the ratios. Needs Debian's ``wrk``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

SECRET = "bench-secret-0123456789abcdef"
MASTER_KEY = bytes(range(32))
"""Shared by the placing process and the server: debtor data is sealed under it."""


def _bare_app(url: str):  # type: ignore[no-untyped-def]
    from litestar import Litestar, get
    from litestar.datastructures import State

    from ledger.db.pool import create_pool

    async def open_pool(app: Litestar) -> None:
        app.state.pool = await create_pool(url, min_size=2, max_size=20)

    @get("/bare/{case_id:uuid}")
    async def bare(state: State, case_id: uuid.UUID) -> dict[str, int]:
        version = await state.pool.fetchval(
            "SELECT originator_version FROM stored_events WHERE originator_id = $1 "
            "AND originator_version = 1", case_id)
        return {"version": version}

    return Litestar([bare], on_startup=[open_pool])


def serve(kind: str, url: str, port: int) -> None:
    import uvicorn

    from ledger.api.app import create_app
    from ledger.config import Settings

    app = _bare_app(url) if kind == "bare" else create_app(
        Settings(database_url=url, secret_key=SECRET, master_key=MASTER_KEY.hex(),
                 run_projections=False), url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _prepare(url: str, cases: int) -> tuple[str, list[str]]:
    from ledger.api.placement import new_case
    from ledger.api.schemas.cases import PlaceCase
    from ledger.api.schemas.times import dec_hook
    from ledger.db.migrations import migrate
    from ledger.db.pool import create_pool
    from ledger.eventstore import EventStore
    from ledger.services.cases import Context
    from ledger.services.repositories import case_service
    from ledger.services.keys import Role, create_key
    import msgspec

    await migrate(url)
    pool = await create_pool(url)
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    _, key = await create_key(pool, SECRET.encode(), tenant_id=tenant, role=Role.ADMIN,
                              rate_limit=1_000_000)
    service = case_service(EventStore(pool), MASTER_KEY)
    ctx = Context(tenant, "bench", uuid.uuid4())
    ids = []
    for start in range(0, cases, 500):
        batch = []
        for i in range(start, min(cases, start + 500)):
            body = msgspec.convert({
                "external_ref": f"B-{i}", "portfolio": "bench", "product": "credit_card",
                "currency": "USD", "principal": 10**9, "interest": 0, "fees": 0,
                "past_due_amount": 1000, "days_past_due": 40, "placed_at": "2026-01-01T00:00:00Z",
                "debtor": {"name": "Bench", "timezone": "America/Chicago", "jurisdiction": "US-TX"},
            }, PlaceCase, strict=False, dec_hook=dec_hook)
            batch.append(new_case(tenant, body, service.clock()))
        await service.place_many(ctx, batch)
        ids += [str(c.id) for c in batch]
    await pool.close()
    return key, ids


LUA_PAYMENT = """
local ids = {%s}
local n = 0
local prefix = "%s"
local threads = 0
-- Each wrk thread has its own Lua state: number them, or two threads post the same ids.
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
request = function()
  n = n + 1
  local id = ids[(n %% #ids) + 1]
  local ext = prefix .. "-" .. tid .. "-" .. n
  local body = '{"external_id":"' .. ext .. '","amount":1,"currency":"USD",' ..
    '"received_at":"2026-02-01T00:00:00Z","method":"ach"}'
  wrk.headers["Idempotency-Key"] = ext
  return wrk.format("POST", "/v1/cases/" .. id .. "/payments", nil, body)
end
"""
LUA_GET = """
local ids = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "%s" .. ids[(n %% #ids) + 1], nil, nil)
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(base: str) -> None:
    for _ in range(200):
        try:
            httpx.get(base + "/schema/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {base} did not start")


def _wrk(base: str, script: Path, key: str, seconds: int, connections: int) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         "-H", f"Authorization: Bearer {key}", "-H", "Content-Type: application/json", base],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(p99_text[1]) * {"us": 0.001, "ms": 1, "s": 1000}[p99_text[2]]  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p99, int(errors[1]) if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cases", type=int, default=2000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    from bench.scratch import served_database

    root = Path(tempfile.mkdtemp(prefix="ledger-bench-api-"))
    root.chmod(0o755)
    server, url = served_database(root)
    processes = []
    try:
        key, ids = asyncio.run(_prepare(url, args.cases))
        id_list = ",".join(f'"{i}"' for i in ids)
        scripts = {
            "bare": LUA_GET % (id_list, "/bare/"),
            "case GET": LUA_GET % (id_list, "/v1/cases/"),
        }
        ports = {"bare": _free_port(), "ledger": _free_port()}
        for kind, port in ports.items():
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "bench.api_http", "--serve", kind, url, str(port)]))
        for port in ports.values():
            _wait(f"http://127.0.0.1:{port}")
        results: dict[str, list[tuple[float, float, int]]] = {}
        for run in range(args.runs):
            scripts["payment POST"] = LUA_PAYMENT % (id_list, f"R{run}-{uuid.uuid4().hex[:6]}")
            for name, text in scripts.items():
                script = root / f"{name.replace(' ', '_')}.lua"
                script.write_text(text)
                port = ports["bare" if name == "bare" else "ledger"]
                result = _wrk(f"http://127.0.0.1:{port}", script, key, args.seconds, args.connections)
                results.setdefault(name, []).append(result)
                print(f"run {run + 1} {name:13s} {result[0]:9.0f} req/s  p99 {result[1]:6.1f} ms"
                      f"  non-2xx {result[2]}", flush=True)
        medians = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
                   for n, rs in results.items()}
        print(f"\nmedians of {args.runs} runs, {args.connections} connections, 1 worker each:")
        for name, (rate, p99) in medians.items():
            print(f"  {name:13s} {rate:9.0f} req/s  p99 {p99:6.1f} ms  "
                  f"({rate / medians['bare'][0]:.0%} of bare)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
