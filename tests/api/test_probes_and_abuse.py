"""Unauthenticated cost and abuse: cached probe figures, the metrics token, 401 floods → 429."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from litestar.testing import AsyncTestClient

from ledger.api.app import create_app
from ledger.config import Settings

from api_helpers import SECRET, assert_problem


@pytest.fixture
async def guarded(database_url):
    settings = Settings(database_url=database_url, secret_key=SECRET, pool_min_size=1,
                        pool_max_size=40, metrics_token="scrape-me", run_projections=False)
    app = create_app(settings, database_url, derive_master_key_for_tests=True)
    async with AsyncTestClient(app, timeout=30) as client:
        yield client


async def test_ready_lists_quarantined_items_and_queries_lag_at_most_once_a_second(app, client, pool):
    item = str(uuid.uuid4())
    await pool.execute("INSERT INTO worker_quarantine (worker, item, reason, attempts) "
                       "VALUES ('deadlines', $1, 'KeyError', 3)", item)
    for _ in range(40):
        body = (await client.get("/ready")).json()
        if any(q["item"] == item for q in body["quarantined"]):
            break
        await asyncio.sleep(0.1)
    held = [q for q in body["quarantined"] if q["item"] == item]
    assert held and held[0]["worker"] == "deadlines" and body["quarantined_total"] >= 1
    assert {"deadlines", "projections", "message-sender", "validation-notice-sweep",
            "strategies"} <= {w["name"] for w in body["workers"]}
    assert [w for w in body["workers"] if w["state"] != "running"] == []
    probe = app.state.read_side_probe
    before, started = probe.queries, time.monotonic()
    for _ in range(50):
        assert (await client.get("/ready")).status_code == 200
        await client.get("/metrics")
    seconds = time.monotonic() - started
    assert probe.queries - before <= int(seconds / probe.ttl) + 1  # at most one a second
    await pool.execute("DELETE FROM worker_quarantine WHERE item = $1", item)


async def test_metrics_want_the_token_when_one_is_configured(guarded):
    assert_problem(await guarded.get("/metrics"), 401, "unauthorized")
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401, "unauthorized")
    scraped = await guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200 and "ledger_projection_lag_events" in scraped.text
    content_type = scraped.headers["content-type"]
    assert content_type.startswith("text/plain; version=") and content_type.count("charset") == 1


async def test_a_burst_of_unknown_keys_is_mostly_refused_with_429_and_a_real_key_still_works(
        guarded, make_key, tenant):
    real = await make_key(tenant, "auditor")
    assert (await guarded.get("/v1/audit", headers=real)).status_code == 200  # now cached
    statuses = []
    for _ in range(60):
        fake = {"Authorization": f"Bearer lk_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}{'x' * 11}"}
        response = await guarded.get("/v1/audit", headers=fake)
        statuses.append(response.status_code)
        if response.status_code == 429:
            body = assert_problem(response, 429, "rate_limited")
            assert "failed authentications" in body["detail"]
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429] * 40
    assert (await guarded.get("/v1/audit", headers=real)).status_code == 200
    # No key at all costs nothing to check: still a plain 401.
    assert_problem(await guarded.get("/v1/audit"), 401, "unauthorized")


async def test_failed_dashboard_sign_ins_share_the_allowance_of_failed_key_checks(guarded):
    statuses = []
    for _ in range(15):  # the dashboard's form, then the API: one allowance of 20
        form = await guarded.post("/dashboard/sign-in", follow_redirects=False,
                                  data={"api_key": f"lk_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}"})
        statuses.append(form.status_code)
    for _ in range(10):
        fake = {"Authorization": f"Bearer lk_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}"}
        statuses.append((await guarded.get("/v1/audit", headers=fake)).status_code)
    assert statuses == [401] * 20 + [429] * 5
    refused = await guarded.post("/dashboard/sign-in", data={"api_key": "lk_nope_nope"},
                                 follow_redirects=False)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed sign-ins" in refused.text
