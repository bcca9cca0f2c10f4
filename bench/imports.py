"""Bulk import: N placements in one NDJSON request to a served Ledger, timed, with the server's RSS.

    python -m bench.imports                      # 100,000 lines, 3 runs (a fresh tenant each)
    python -m bench.imports --lines 20000 --runs 1
    python -m bench.imports --projections        # the server also runs its projection runner

One run starts an embedded PostgreSQL (or uses ``--url``), serves the Ledger app as one uvicorn
worker on 127.0.0.1 (as ``ledger serve`` does; projections off unless asked, as on a server
whose runner is ``ledger project``), writes the NDJSON body to a file and streams it with
``httpx`` in one ``POST /v1/cases/import``. Reported per run: seconds from the first byte sent
to the reply, lines per second, the reply's ``accepted`` count, and the server's peak RSS
(``VmHWM``) before and after, so a body-sized buffer would show as growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.api_http import SECRET, _free_port, _wait
from bench.scratch import scratch_database


def _line(tenant_run: str, n: int) -> bytes:
    return json.dumps({
        "external_ref": f"{tenant_run}-{n:07d}", "portfolio": "bench-import",
        "product": "credit_card", "currency": "USD", "principal": 150_000 + n % 9_000,
        "interest": 2_500, "fees": 3_900, "past_due_amount": 12_000, "days_past_due": 30 + n % 150,
        "placed_at": "2026-10-01T09:00:00Z",
        "debtor": {"name": f"Import Debtor {n}", "phones": [f"+1512555{n % 10_000:04d}"],
                   "emails": [f"debtor{n}@example.com"], "timezone": "America/Chicago",
                   "jurisdiction": "US-TX"},
    }).encode() + b"\n"


def _write_body(path: Path, prefix: str, lines: int) -> None:
    with path.open("wb") as out:
        for n in range(lines):
            out.write(_line(prefix, n))


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as body:
        while chunk := body.read(256 * 1024):
            yield chunk


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _key(url: str, tenant: str) -> str:
    from ledger.db.pool import create_pool
    from ledger.services.keys import Role, create_key

    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        _, key = await create_key(pool, SECRET.encode(), tenant_id=tenant, role=Role.INTEGRATION,
                                  rate_limit=1_000_000)
    finally:
        await pool.close()
    return key


def serve(url: str, port: int, projections: bool) -> None:
    import uvicorn

    from ledger.api.app import create_app
    from ledger.config import Settings

    app = create_app(Settings(database_url=url, secret_key=SECRET, run_projections=projections),
                     url, derive_master_key_for_tests=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _run_all(args: argparse.Namespace) -> list[dict[str, float]]:
    results = []
    async with scratch_database(args.url) as (url, _):
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "bench.imports", "--serve", url,
                                   str(port), "1" if args.projections else "0"])
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            with tempfile.TemporaryDirectory(prefix="ledger-bench-import-") as folder:
                for run in range(args.runs):
                    tenant = f"imp-{uuid.uuid4().hex[:6]}"
                    key = await _key(url, tenant)
                    body = Path(folder) / "body.ndjson"
                    _write_body(body, f"R{run}", args.lines)
                    before = _peak_rss_mib(server.pid)
                    started = time.perf_counter()
                    reply = httpx.post(f"{base}/v1/cases/import", content=_chunks(body),
                                       timeout=3_600, headers={
                                           "Authorization": f"Bearer {key}",
                                           "Content-Type": "application/x-ndjson"})
                    seconds = time.perf_counter() - started
                    reply.raise_for_status()
                    accepted = reply.json()["accepted"]
                    figures = {"seconds": seconds, "lines_per_s": args.lines / seconds,
                               "accepted": accepted, "rss_before_mib": before,
                               "rss_peak_mib": _peak_rss_mib(server.pid),
                               "body_mib": body.stat().st_size / 2**20}
                    print(f"run {run + 1}: {accepted:,} accepted in {seconds:.1f} s "
                          f"({figures['lines_per_s']:,.0f} lines/s); server peak RSS "
                          f"{before:.0f} -> {figures['rss_peak_mib']:.0f} MiB "
                          f"(body {figures['body_mib']:.0f} MiB)", flush=True)
                    results.append(figures)
        finally:
            server.terminate()
            server.wait(30)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--projections", action="store_true")
    parser.add_argument("--url", help="a PostgreSQL server URL instead of an embedded one")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    results = asyncio.run(_run_all(args))
    print(f"load average after: {os.getloadavg()}")
    print(f"median: {statistics.median(r['seconds'] for r in results):.1f} s for "
          f"{args.lines:,} lines; peak RSS {max(r['rss_peak_mib'] for r in results):.0f} MiB")


if __name__ == "__main__":
    main()
