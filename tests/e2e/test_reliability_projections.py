"""Projections under faults: the ``ledger project`` worker SIGKILLed mid-batch, again and again.

The API server runs without its in-process runner, so a separate ``ledger project`` process is
the only writer of the read models. It is killed with SIGKILL each time it has made progress
(so kills land inside batches), restarted, and finally left to catch up. Nothing may be
counted twice or missed, and a rebuild from the event log must equal the live tables exactly.
"""

from __future__ import annotations

import json
import random
import time
import uuid

import httpx
from processes import (LedgerProcess, bearer, fetch, fetchval, ledger_env, make_key,
                       migrated_database, payment, placement, run_ledger, serving, sized)

PLACEMENTS = sized(12_000, 100_000)
PAYMENTS = sized(600, 5_000)
CONTACTS = sized(300, 3_000)
KILLS = sized(5, 20)


async def _read_models(url: str) -> dict[str, str]:
    """A digest of every rm_ table's rows (order-independent)."""
    tables = [r["table_name"] for r in await fetch(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
             "AND table_name LIKE 'rm\\_%' ORDER BY table_name")]
    digests = {}
    for table in tables:
        digests[table] = await fetchval(
            url, f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                 f"FROM {table} t")  # table names come from the catalog, not from input
    return digests


async def _applied(url: str) -> dict[str, int]:
    return {r["name"]: r["events_applied"] for r in await fetch(
        url, "SELECT name, events_applied FROM projection_positions WHERE name NOT LIKE '%\\_\\_rebuild'")}


async def test_a_projection_worker_killed_mid_batch_counts_nothing_twice_and_a_rebuild_equals_it(make_database):
    url = await migrated_database(make_database)
    tenant = f"proj-{uuid.uuid4().hex[:6]}"
    integration = await make_key(url, tenant, "integration")
    agent = await make_key(url, tenant, "agent")
    rng = random.Random(7)
    with serving(url, LEDGER_RUN_PROJECTIONS="false") as server, httpx.Client(timeout=120) as http:
        lines = b"".join(json.dumps(placement(f"PJ-{n:06d}", principal=50_000 + n)).encode() + b"\n"
                         for n in range(PLACEMENTS))
        imported = http.post(f"{server.base}/v1/cases/import", content=lines,
                             headers={**bearer(integration), "Content-Type": "application/x-ndjson"})
        assert imported.status_code == 200 and imported.json()["accepted"] == PLACEMENTS, imported.text
        cases = [http.get(f"{server.base}/v1/cases/by-ref/PJ-{n:06d}", headers=bearer(integration)).json()["case_id"]
                 for n in range(50)]
        for n in range(PAYMENTS):
            response = http.post(f"{server.base}/v1/cases/{cases[n % 50]}/payments",
                                 json=payment(f"PJP-{n}", amount=10 + n % 7), headers=bearer(integration))
            assert response.status_code == 201, response.text
        for n in range(CONTACTS):
            response = http.post(f"{server.base}/v1/cases/{cases[n % 50]}/contacts", headers=bearer(agent), json={
                "channel": "letter", "direction": "outbound", "outcome": "delivered",
                "occurred_at": "2026-03-02T15:00:00Z", "agent_id": f"agent-{n % 3}"})
            assert response.status_code == 201, response.text
    total = await fetchval(url, "SELECT count(*) FROM stored_events")
    paid = PAYMENTS * 10 + sum(n % 7 for n in range(PAYMENTS))

    worker = LedgerProcess(["project"], ledger_env(url))
    progress_at_kills = []
    try:
        for _ in range(KILLS):
            before = await _applied(url)
            worker.start()
            deadline = time.monotonic() + 60
            while await _applied(url) == before:  # wait for the worker to commit a batch
                assert time.monotonic() < deadline and worker.running(), worker.output()[-2000:]
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))  # then kill it somewhere inside the next ones
            worker.kill()
            progress_at_kills.append(min((await _applied(url)).values(), default=0))
        worker.start()
        deadline = time.monotonic() + 240
        while min((await _applied(url)).values(), default=0) < total:
            assert time.monotonic() < deadline and worker.running(), worker.output()[-2000:]
            time.sleep(0.1)
    finally:
        worker.close()
    print(f"\nprojections: {total} events, SIGKILLs at {progress_at_kills} events applied (slowest projection)")
    assert any(p < total for p in progress_at_kills), "every kill came after the work was done"
    assert set((await _applied(url)).values()) == {total}

    # Nothing counted twice or missed.
    assert await fetchval(url, "SELECT count(*) FROM rm_cases WHERE tenant_id = $1", tenant) == PLACEMENTS
    assert await fetchval(url, "SELECT count(*) FROM rm_payments WHERE tenant_id = $1", tenant) == PAYMENTS
    assert await fetchval(url, "SELECT sum(paid_total) FROM rm_cases WHERE tenant_id = $1", tenant) == paid
    assert await fetchval(url, "SELECT sum(amount) FROM rm_payments WHERE tenant_id = $1", tenant) == paid
    assert await fetchval(url, "SELECT sum(attempts) FROM rm_contact_stats WHERE tenant_id = $1",
                          tenant) == CONTACTS

    live = await _read_models(url)
    rebuilt = run_ledger(url, "rebuild", "--all", timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert await _read_models(url) == live
