"""Resources: peak memory of a big import and of a rebuild; no fd or connection leak in a soak.

CI runs small sizes; ``LEDGER_FULL_RELIABILITY=1`` runs the figures in RELIABILITY.md
(100,000 placements in one import, a rebuild of 1,000,000 events, a 10-minute soak).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import httpx
from processes import (Server, bearer, fetchval, ledger_env, make_key, migrated_database,
                       payment, peak_rss_kib, place_cases, placement, sized)

SMALL_IMPORT = sized(5_000, 10_000)
LARGE_IMPORT = sized(20_000, 100_000)
LARGE_EVENTS = sized(60_000, 1_000_000)
SOAK_SECONDS = sized(20, 600)
MEASURE = (
    "import resource, sys\n"
    "from ledger.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _import(server: Server, key: str, prefix: str, count: int) -> float:
    lines = b"".join(json.dumps(placement(f"{prefix}-{n:07d}")).encode() + b"\n" for n in range(count))
    started = time.monotonic()
    response = httpx.post(f"{server.base}/v1/cases/import", content=lines, timeout=600,
                          headers={**bearer(key), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200 and response.json()["accepted"] == count, response.text[:500]
    return time.monotonic() - started


def _rebuild_peak_kib(url: str) -> tuple[int, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURE, "rebuild", "--all"], env=ledger_env(url),
                          capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KIB")][-1]
    return int(peak.split()[1]), time.monotonic() - started


async def test_import_and_rebuild_peak_memory_stays_flat_as_the_input_grows(make_database):
    url = await migrated_database(make_database)
    tenant = f"mem-{uuid.uuid4().hex[:6]}"
    key = await make_key(url, tenant, "integration")
    figures: dict[str, tuple[int, int, float]] = {}  # what -> (input size, peak KiB, seconds)
    for label, count in (("small", SMALL_IMPORT), ("large", LARGE_IMPORT)):
        server = Server(url, LEDGER_RUN_PROJECTIONS="false").start()
        try:
            idle = peak_rss_kib(server.pid)
            seconds = _import(server, key, f"IMP-{label}", count)
            figures[f"import {label}"] = (count, peak_rss_kib(server.pid) - idle, seconds)
        finally:
            server.close()
        events = int(await fetchval(url, "SELECT count(*) FROM stored_events"))
        if label == "large":  # top the log up to LARGE_EVENTS with more imports
            while events < LARGE_EVENTS:
                server = Server(url, LEDGER_RUN_PROJECTIONS="false").start()
                try:
                    _import(server, key, f"TOP-{events}", min(LARGE_IMPORT, LARGE_EVENTS - events))
                finally:
                    server.close()
                events = int(await fetchval(url, "SELECT count(*) FROM stored_events"))
        peak, seconds = _rebuild_peak_kib(url)
        figures[f"rebuild {label}"] = (events, peak, seconds)
    report = "\n".join(f"  {what}: {size:,} -> peak {kib / 1024:,.0f} MiB in {seconds:,.1f} s"
                       for what, (size, kib, seconds) in figures.items())
    print(f"\nresources:\n{report}")
    (small_events, small_rebuild, _), (large_events, large_rebuild, _) = (
        figures["rebuild small"], figures["rebuild large"])
    assert large_events >= 4 * small_events
    # A rebuild streams the log in batches: its peak must not follow the number of events.
    assert large_rebuild <= small_rebuild * 1.25 + 32 * 1024, report
    # An import spools its body and works one chunk of lines at a time: its peak must not
    # follow the number of lines either (it grew ~1.2 KiB a line when the body was read whole).
    (_, small_import, _), (_, large_import, _) = figures["import small"], figures["import large"]
    assert large_import <= small_import * 1.25 + 32 * 1024, report


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def _connections(url: str) -> int:
    return int(await fetchval(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ledger' "
                                   "AND pid <> pg_backend_pid()"))


async def test_a_soak_of_mixed_traffic_leaks_no_file_descriptors_or_database_connections(make_database):
    url = await migrated_database(make_database)
    tenant = f"soak-{uuid.uuid4().hex[:6]}"
    key = await make_key(url, tenant, "admin")
    server = Server(url).start()
    try:
        cases = place_cases(server.base, key, f"SOAK-{tenant}", 20)
        stop = threading.Event()
        counts = [0]
        errors: list[str] = []

        def traffic(worker: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                # New connections now and then, abandoned requests, long polls, bad keys.
                with httpx.Client(base_url=server.base, timeout=10, headers=bearer(key)) as http:
                    for _ in range(25):
                        case = cases[n % len(cases)]
                        responses = [
                            http.get(f"/v1/cases/{case}"),
                            http.post(f"/v1/cases/{case}/payments",
                                      json=payment(f"S-{worker}-{n}-{uuid.uuid4().hex[:6]}", amount=1)),
                            http.get("/v1/events", params={"limit": 20, "wait": 0.05}),
                            http.get("/v1/cases", params={"limit": 5}),
                            http.get(f"/v1/cases/{case}", headers={"Authorization": "Bearer lk_nope"}),
                        ]
                        for response in responses:
                            if response.status_code >= 500:
                                errors.append(f"{response.status_code} {response.url}")
                        counts[0] += len(responses)
                        n += 1
                try:
                    httpx.get(f"{server.base}/v1/events", params={"wait": 5}, timeout=0.05, headers=bearer(key))
                except httpx.TimeoutException:
                    pass  # the client went away mid long-poll

        workers = [threading.Thread(target=traffic, args=(w,)) for w in range(4)]
        for thread in workers:
            thread.start()
        time.sleep(min(5.0, SOAK_SECONDS / 4))  # warm up: pools and caches fill
        fds_start, conns_start, rss_start = _fds(server.pid), await _connections(url), peak_rss_kib(server.pid)
        samples = []
        ends_at = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < ends_at:
            time.sleep(min(10.0, SOAK_SECONDS / 4))
            samples.append((_fds(server.pid), await _connections(url)))
        stop.set()
        for thread in workers:
            thread.join(timeout=60)
        time.sleep(1.0)
        fds_end, conns_end, rss_end = _fds(server.pid), await _connections(url), peak_rss_kib(server.pid)
        print(f"\nsoak: {SOAK_SECONDS} s, {counts[0]:,} requests; fds {fds_start} -> {fds_end}, "
              f"database connections {conns_start} -> {conns_end}, peak RSS {rss_start // 1024} -> "
              f"{rss_end // 1024} MiB, samples {samples}")
        assert errors == []
        assert counts[0] > 1000
        assert fds_end <= fds_start + 5
        assert conns_end <= max(conns_start, 22)  # the pool's 20 plus the listeners
        assert max(fd for fd, _ in samples) <= fds_start + 40
    finally:
        server.close()

