"""Database outage: PostgreSQL stops for ~10 s under load; Ledger answers 503 and recovers alone.

The server runs on an embedded PostgreSQL cluster of this test's own (never the shared test
server or the machine's PostgreSQL), which the test stops with ``pg_ctl stop -m fast`` mid-load
and starts again. While it is down every request must end quickly in ``503`` with
``Retry-After`` (not a 500, not a hang) and ``/ready`` must say 503; afterwards the same server
process serves again, every payment the clients kept retrying is stored once, and the
projection runner has resumed.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid

import httpx
from processes import (Cluster, Server, bearer, fetch, make_key, payment, place_cases, sized)

OUTAGE_SECONDS = sized(10, 10)
CLIENTS = 4
PAYMENTS = sized(400, 2000)
HANG_SECONDS = 5.0  # no request may take longer than this, database down or not


async def test_a_database_outage_gives_503_with_retry_after_and_the_server_recovers_by_itself():
    with Cluster() as cluster:
        url = await cluster.database()
        tenant = f"outage-{uuid.uuid4().hex[:6]}"
        key = await make_key(url, tenant, "integration")
        server = Server(url).start()
        try:
            cases = place_cases(server.base, key, f"OUT-{tenant}", 4)
            ids = [f"PMT-{n:05d}-{uuid.uuid4().hex[:6]}" for n in range(PAYMENTS)]
            acknowledged: set[str] = set()
            during: collections.Counter[str] = collections.Counter()
            bad: list[str] = []
            slowest = [0.0]
            down = threading.Event()
            lock = threading.Lock()
            deadline = time.monotonic() + 60

            def client(mine: list[str]) -> None:
                with httpx.Client(timeout=HANG_SECONDS * 3) as http:
                    for n, pid in enumerate(mine):
                        target = f"{server.base}/v1/cases/{cases[n % len(cases)]}/payments"
                        while time.monotonic() < deadline:
                            started = time.monotonic()
                            try:
                                response = http.post(target, json=payment(pid),
                                                     headers={**bearer(key), "Idempotency-Key": pid})
                            except httpx.TransportError as error:
                                bad.append(f"transport error {type(error).__name__}")
                                time.sleep(0.1)
                                continue
                            took = time.monotonic() - started
                            with lock:
                                slowest[0] = max(slowest[0], took)
                                if down.is_set():
                                    during[str(response.status_code)] += 1
                            if 200 <= response.status_code < 300:
                                with lock:
                                    acknowledged.add(pid)
                                break
                            if response.status_code == 503:
                                problem = response.json()
                                if (int(response.headers.get("Retry-After", "0")) < 1
                                        or problem.get("code") != "unavailable"):
                                    bad.append(f"503 without Retry-After/code: {response.text[:200]}")
                                time.sleep(0.2)
                                continue
                            bad.append(f"{response.status_code}: {response.text[:300]}")
                            time.sleep(0.2)
                        # keep a steady pace so the load spans the outage
                        time.sleep(0.01)

            threads = [threading.Thread(target=client, args=(ids[i::CLIENTS],)) for i in range(CLIENTS)]
            for thread in threads:
                thread.start()
            while len(acknowledged) < PAYMENTS // 8:
                time.sleep(0.01)
            pid_before = server.pid
            cluster.stop_database()
            down.set()
            stopped_at = time.monotonic()
            ready_while_down = []
            with httpx.Client(timeout=HANG_SECONDS * 3) as http:
                while time.monotonic() - stopped_at < OUTAGE_SECONDS:
                    started = time.monotonic()
                    ready = http.get(f"{server.base}/ready")
                    ready_while_down.append(ready.status_code)
                    assert time.monotonic() - started < HANG_SECONDS
                    read = http.get(f"{server.base}/v1/cases/{cases[0]}", headers=bearer(key))
                    assert read.status_code == 503, read.text
                    assert int(read.headers["Retry-After"]) >= 1
                    time.sleep(0.5)
                cluster.start_database()
                down.clear()
                restarted_at = time.monotonic()
                while http.get(f"{server.base}/ready").status_code != 200:
                    assert time.monotonic() - restarted_at < 30, "not ready 30 s after the database came back"
                    time.sleep(0.1)
                recovered_in = time.monotonic() - restarted_at
            for thread in threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic()))
            after: collections.Counter[str] = collections.Counter(bad)
            assert not any(t.is_alive() for t in threads), (len(acknowledged), dict(during), after.most_common(5))
            assert server.pid == pid_before and server.running(), "the server had to be restarted"
            print(f"\noutage: {OUTAGE_SECONDS} s down, answers while down {dict(during)}, /ready "
                  f"while down {collections.Counter(ready_while_down)}, ready {recovered_in:.2f} s "
                  f"after restart, slowest request {slowest[0]:.2f} s")
            unhandled = [line[:3000] for line in server.output().splitlines() if "unhandled" in line]
            assert bad == [], unhandled
            assert set(ready_while_down) == {503}
            assert during["503"] > 0 and set(during) <= {"503", "201", "200"}
            assert slowest[0] < HANG_SECONDS
            assert acknowledged == set(ids)

            stored = await fetch(url, "SELECT count(*) AS n FROM stored_events WHERE tenant_id = $1 "
                                 "AND topic LIKE '%PaymentReceived'", tenant)
            assert stored[0]["n"] == PAYMENTS
            # The projection runner resumed where it stopped: every payment reached the read model.
            for _ in range(300):
                rows = await fetch(url, "SELECT count(*) AS n FROM rm_payments WHERE tenant_id = $1", tenant)
                if rows[0]["n"] == PAYMENTS:
                    break
                time.sleep(0.1)
            assert rows[0]["n"] == PAYMENTS
            ready = httpx.get(f"{server.base}/ready", timeout=10).json()
            assert ready["status"] == "ready"
            assert all(lag["positions_behind"] == 0 for lag in ready["projections"]), ready
        finally:
            server.close()
