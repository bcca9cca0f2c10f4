"""Background work fails loud, and guessing keys is cut short (issue 11, items 5 and 8).

Against real ``ledger serve`` processes: a case and an event that always fail are quarantined
(listed by ``/ready``, ``/metrics`` and ``ledger workers status``) while the deadline scheduler and
every projection go on with the others; a burst of unknown keys is mostly answered ``429``.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime

import asyncpg
import httpx
from processes import MASTER_KEY, bearer, fetchval, make_key, migrated_database, run_ledger, serving

from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore
from ledger.db.pool import create_pool
from ledger.services.repositories import case_repository

THEN = datetime(2026, 1, 20, tzinfo=UTC)
BURST = 300


async def _cases_with_promises_due_long_ago(url: str, tenant: str, count: int) -> list[Case]:
    """Written through the domain as of January (a promise's due date cannot be past via the API)."""
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        repository = case_repository(EventStore(pool), bytes.fromhex(MASTER_KEY))
        cases = []
        for index in range(count):
            case = Case.place(
                case_id=uuid.uuid4(), tenant_id=tenant, external_ref=f"W-{index}",
                portfolio="p", product="card", currency="USD", principal=100_000, interest=0,
                fees=0, past_due_amount=10_000, days_past_due=40, placed_at=THEN,
                debtor=Debtor(name="Ana Li", phones=("+15551234567",), timezone="UTC",
                              jurisdiction="US-TX"), now=THEN)
            case.make_promise(amount=5_000, due_date=date(2026, 2, 1 + index), made_at=THEN,
                              now=THEN)
            cases.append(case)
        await repository.save(*cases, tenant_id=tenant, actor="test")
        return cases
    finally:
        await pool.close()


async def _poison(url: str, case: Case, tenant: str) -> None:
    """An event no release of Ledger can read, at the head of the scheduler's queue."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state,"
            " tenant_id, actor, chain_hash) VALUES ($1, $2, $3, $4, $5, 'test', $6)",
            case.id, case.version + 1, "ledger.domain.case:Case.PaymentReceived",
            b'{"poison": true}', tenant, os.urandom(32))
    finally:
        await conn.close()


async def test_a_poison_case_is_quarantined_and_the_scheduler_and_projections_go_on(make_database):
    url = await migrated_database(make_database)
    tenant = f"poison-{uuid.uuid4().hex[:6]}"
    cases = await _cases_with_promises_due_long_ago(url, tenant, 6)
    await _poison(url, cases[0], tenant)  # the earliest deadline: the head of ORDER BY
    broken = ("SELECT count(DISTINCT originator_id) FROM stored_events WHERE tenant_id = $1 AND"
              " topic = 'ledger.domain.case:Case.PromiseBroken'")
    with serving(url, LEDGER_DEADLINE_INTERVAL="1") as server, httpx.Client(timeout=10) as http:
        started = time.monotonic()
        while True:
            ready = http.get(f"{server.base}/ready").json()
            held = {(q["worker"], q["item"]) for q in ready["quarantined"]}
            done = await fetchval(url, broken, tenant)
            if done == 5 and ("deadlines", str(cases[0].id)) in held and all(
                    p["positions_behind"] == 0 for p in ready["projections"]):
                break
            assert time.monotonic() - started < 60, (done, held, ready["projections"])
            time.sleep(0.3)
        elapsed = time.monotonic() - started
        poison_event = f"{cases[0].id}/{cases[0].version + 1}"
        assert ("projection:cases", poison_event) in held
        states = {w["name"]: w["state"] for w in ready["workers"]}
        assert states["deadlines"] == states["projections"] == "running"
        # The other five cases' broken promises reached the read models too.
        supervisor = await make_key(url, tenant, "supervisor")
        listed = http.get(f"{server.base}/v1/cases", params={"limit": 10},
                          headers=bearer(supervisor)).json()["items"]
        assert sum(1 for c in listed if c["status"] == "active") >= 5
        metrics = http.get(f"{server.base}/metrics").text
        assert 'ledger_worker_quarantine_held{worker="deadlines"} 1.0' in metrics
    status = run_ledger(url, "workers", "status")
    assert status.returncode == 0 and str(cases[0].id) in status.stdout, status.stderr
    print(f"\npoison: 5 of 6 due cases marked broken and the bad case quarantined in "
          f"{elapsed:.1f} s (scheduler every 1 s, 3 attempts)")


async def test_a_burst_of_unknown_keys_is_mostly_refused_with_429(make_database):
    url = await migrated_database(make_database)
    tenant = f"flood-{uuid.uuid4().hex[:6]}"
    real = await make_key(url, tenant, "auditor")
    with serving(url) as server, httpx.Client(base_url=server.base, timeout=10) as http:
        assert http.get("/v1/keys", headers=bearer(real)).status_code == 403  # valid, known
        statuses = []
        started = time.monotonic()
        for _ in range(BURST):
            guess = f"lk_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}{uuid.uuid4().hex[:11]}"
            response = http.get("/v1/audit", headers=bearer(guess))
            statuses.append(response.status_code)
        elapsed = time.monotonic() - started
        refused = statuses.count(429)
        assert statuses.count(401) <= 21 and refused >= BURST - 21
        last = http.get("/v1/audit", headers=bearer("lk_000000000000_" + "y" * 43))
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
        assert last.headers["content-type"].startswith("application/problem+json")
        assert last.json()["code"] == "rate_limited"
        # The flood neither locked out nor flushed the real key.
        assert http.get("/v1/audit", headers=bearer(real)).status_code == 200
    print(f"\n401 flood: {BURST} unknown keys in {elapsed:.2f} s: {statuses.count(401)} x 401, "
          f"{refused} x 429")
