"""Crash: SIGKILL the server repeatedly under payment load; every acknowledged payment survives once.

Clients post payments with an ``Idempotency-Key`` (the payment's external id) and retry any
failure — refused connections, resets, 5xx, conflicts — until they get a 2xx. Meanwhile the
server is killed with SIGKILL (no shutdown code runs) at fixed fractions of the load and
restarted. Afterwards every payment exists exactly once as an event, the case views add up,
the read models agree with them, and every hash chain verifies.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import uuid

import httpx
from processes import (Server, bearer, fetch, make_key, migrated_database, payment,
                       place_cases, run_ledger, sized)

PAYMENTS = sized(1_200, 10_000)
KILLS = sized(3, 10)
CLIENTS = 8
CASES = 8
AMOUNT = 100
DEADLINE_SECONDS = sized(150, 900)


async def test_every_acknowledged_payment_exists_exactly_once_after_repeated_sigkills(make_database):
    url = await migrated_database(make_database)
    tenant = f"crash-{uuid.uuid4().hex[:8]}"
    key = await make_key(url, tenant, "integration")
    server = Server(url).start()
    try:
        cases = place_cases(server.base, key, f"CRASH-{tenant}", CASES)
        ids = [f"PMT-{n:06d}-{uuid.uuid4().hex[:6]}" for n in range(PAYMENTS)]
        case_of = {pid: cases[n % CASES] for n, pid in enumerate(ids)}
        acknowledged: dict[str, int] = {}
        outcomes: collections.Counter[str] = collections.Counter()
        unexpected: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + DEADLINE_SECONDS

        def client(mine: list[str]) -> None:
            with httpx.Client(timeout=10) as http:
                for pid in mine:
                    target = f"{server.base}/v1/cases/{case_of[pid]}/payments"
                    while time.monotonic() < deadline:
                        try:
                            response = http.post(target, json=payment(pid, AMOUNT),
                                                 headers={**bearer(key), "Idempotency-Key": pid})
                        except httpx.TransportError:
                            with lock:
                                outcomes["transport error"] += 1
                            time.sleep(0.05)
                            continue
                        with lock:
                            outcomes[str(response.status_code)] += 1
                            if response.headers.get("Idempotency-Replayed") == "true":
                                outcomes["replayed"] += 1
                        if 200 <= response.status_code < 300:
                            with lock:
                                acknowledged[pid] = response.status_code
                            break
                        if response.status_code in (409, 503) or response.status_code >= 500:
                            time.sleep(0.05)
                            continue
                        unexpected.append(f"{response.status_code} {response.text[:300]}")
                        break

        threads = [threading.Thread(target=client, args=(ids[i::CLIENTS],)) for i in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        kills = 0
        for k in range(KILLS):
            # Kill at fixed fractions of the load, so every kill lands while clients post.
            threshold = PAYMENTS * (k + 1) // (KILLS + 2)
            while len(acknowledged) < threshold and time.monotonic() < deadline:
                time.sleep(0.01)
            server.kill()
            kills += 1
            server.start()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), "clients did not finish in time"
        assert unexpected == []
        assert kills == KILLS
        assert len(acknowledged) == PAYMENTS, f"{PAYMENTS - len(acknowledged)} never acknowledged"
        print(f"\ncrash: {PAYMENTS} payments, {kills} SIGKILLs, {elapsed:.1f} s, outcomes {dict(outcomes)}")

        # Exactly once in the event store.
        rows = await fetch(url, "SELECT state FROM stored_events WHERE tenant_id = $1 AND topic LIKE "
                           "'%PaymentReceived'", tenant)
        stored = collections.Counter()
        for row in rows:
            found = re.findall(rb"PMT-\d{6}-[0-9a-f]{6}", bytes(row["state"]))
            assert len(found) == 1, "a payment event without exactly one external id"
            stored[found[0].decode()] += 1
        assert len(rows) == PAYMENTS
        assert set(stored) == set(ids)
        assert max(stored.values()) == 1

        # Case views add up; the read models agree once caught up.
        per_case = collections.Counter(case_of[pid] for pid in ids)
        with httpx.Client(timeout=10, headers=bearer(key)) as http:
            for case_id in cases:
                view = http.get(f"{server.base}/v1/cases/{case_id}").json()
                assert view["paid_total"] == AMOUNT * per_case[case_id]
                assert view["balance"] == view["placed_balance"] - view["paid_total"]
        expected = {uuid.UUID(c): AMOUNT * n for c, n in per_case.items()}
        for _ in range(300):
            rm = {r["case_id"]: r["paid_total"] for r in await fetch(
                url, "SELECT case_id, paid_total FROM rm_cases WHERE tenant_id = $1", tenant)}
            payments = await fetch(url, "SELECT count(*) AS n, sum(amount) AS s FROM rm_payments "
                                   "WHERE tenant_id = $1", tenant)
            if rm == expected and payments[0]["n"] == PAYMENTS:
                break
            time.sleep(0.1)
        assert rm == expected
        assert payments[0]["n"] == PAYMENTS and payments[0]["s"] == AMOUNT * PAYMENTS
    finally:
        server.close()
    verified = run_ledger(url, "verify", "--tenant", tenant)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 broken" in verified.stdout
