"""Contact permission (one case, batches) and the tenant's event feed."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import time
import uuid
from datetime import UTC, datetime, timedelta

from api_helpers import ago, assert_problem, payment, placement



def _chicago(hour: int) -> str:
    """Today (or yesterday) at ``hour`` o'clock UTC-6: fixed offset keeps the test DST-proof."""
    day = datetime.now(UTC).date() - timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00:00-06:00"


async def test_permission_explains_the_refusal_and_the_next_allowed_time(client, keys, case):
    url = f"/v1/cases/{case['case_id']}/contact-permission"
    night = await client.get(url, params={"channel": "phone", "at": _chicago(2)}, headers=keys["agent"])
    assert night.status_code == 200
    body = night.json()
    assert body["allowed"] is False and [r["rule"] for r in body["reasons"]] == ["outside_hours"]
    assert body["next_allowed_at"] is not None
    day = await client.get(url, params={"channel": "phone", "at": _chicago(12)}, headers=keys["agent"])
    assert day.json()["allowed"] is True


async def test_permission_needs_an_offset_on_the_time(client, keys, case):
    url = f"/v1/cases/{case['case_id']}/contact-permission"
    response = await client.get(url, params={"at": "2026-01-01T12:00:00"}, headers=keys["agent"])
    assert_problem(response, 422, "invalid_request")


async def test_a_permission_batch_answers_every_id_in_order(client, keys, case):
    other = await client.post("/v1/cases", json=placement(), headers=keys["integration"])
    await client.post(f"/v1/cases/{other.json()['case_id']}/cease", json={"received_at": ago(minutes=1)},
                      headers=keys["agent"])
    unknown = str(uuid.uuid4())
    ids = [case["case_id"], unknown, other.json()["case_id"]]
    response = await client.post("/v1/contact-permissions", headers=keys["agent"],
                                 json={"channel": "phone", "at": _chicago(12), "case_ids": ids})
    results = response.json()["results"]
    assert [r["case_id"] for r in results] == ids
    assert [r["allowed"] for r in results] == [True, False, False]
    assert results[1]["reasons"][0]["rule"] == "not_found"
    assert results[2]["reasons"][0]["rule"] == "cease"


async def test_an_id_that_is_not_a_uuid_is_an_unknown_case_not_a_failed_batch(client, keys, case):
    upper = case["case_id"].upper()  # still this case: answered in the canonical form
    ids = [case["case_id"], "CASE-123", upper]
    response = await client.post("/v1/contact-permissions", headers=keys["agent"],
                                 json={"channel": "phone", "at": _chicago(12), "case_ids": ids})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["case_id"] for r in results] == [case["case_id"], "CASE-123", case["case_id"]]
    assert [r["allowed"] for r in results] == [True, False, True]
    assert results[1]["reasons"][0]["rule"] == "not_found"
    too_long = await client.post("/v1/contact-permissions", headers=keys["agent"], json={
        "channel": "phone", "at": _chicago(12), "case_ids": ["x" * 101]})
    assert_problem(too_long, 422, "invalid_request")


async def test_a_permission_batch_over_1000_ids_is_refused(client, keys):
    ids = [str(uuid.uuid4()) for _ in range(1001)]
    response = await client.post("/v1/contact-permissions", headers=keys["agent"],
                                 json={"channel": "phone", "at": ago(minutes=1), "case_ids": ids})
    assert_problem(response, 422, "invalid_request")


@pytest.mark.parametrize("name", ["after", "cursor"])  # the lists' convention names it cursor
async def test_the_feed_pages_by_cursor_without_gaps_or_repeats(client, keys, case, name):
    for _ in range(4):
        await client.post(f"/v1/cases/{case['case_id']}/payments", json=payment(), headers=keys["integration"])
    seen, cursor = [], None
    for _ in range(100):
        params = {"limit": 2, **({name: cursor} if cursor else {})}
        page = (await client.get("/v1/events", params=params, headers=keys["auditor"])).json()
        seen += [(i["case_id"], i["version"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if not page["items"]:
            if len(seen) >= 5:
                break
            # Another tenant's transaction still open holds the feed's horizon back a moment.
            await asyncio.sleep(0.02)
    assert seen == [(case["case_id"], v) for v in range(1, 6)]
    payments = (await client.get("/v1/events", params={"types": "PaymentReceived"}, headers=keys["integration"])).json()
    assert [i["type"] for i in payments["items"]] == ["PaymentReceived"] * 4
    assert payments["items"][0]["actor"].startswith("key:")


async def test_a_long_poll_returns_as_soon_as_an_event_arrives(live_server, keys, case):
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as http:
        head = (await http.get("/v1/events", params={"limit": 500}, headers=keys["auditor"])).json()

        async def later_payment():
            await asyncio.sleep(0.3)
            await http.post(f"/v1/cases/{case['case_id']}/payments", json=payment(),
                            headers=keys["integration"])

        started = time.monotonic()
        waiting = http.get("/v1/events", params={"after": head["next_cursor"], "wait": 10},
                           headers=keys["auditor"])
        page, _ = await asyncio.gather(waiting, later_payment())
    assert [i["type"] for i in page.json()["items"]] == ["PaymentReceived"]
    assert time.monotonic() - started < 5


async def test_an_empty_long_poll_times_out_with_the_same_cursor(client, keys):
    head = (await client.get("/v1/events", headers=keys["auditor"])).json()["next_cursor"]
    page = await client.get("/v1/events", params={"after": head, "wait": 0.3}, headers=keys["auditor"])
    assert page.json() == {"items": [], "next_cursor": head}


async def test_a_bad_cursor_type_or_wait_is_422(client, keys):
    for params in ({"after": "garbage"}, {"cursor": "garbage"}, {"types": "Nope"}, {"wait": 31},
                   {"limit": 0}):
        response = await client.get("/v1/events", params=params, headers=keys["auditor"])
        assert_problem(response, 422, "invalid_request")


async def test_an_unknown_feed_type_is_named_without_quoting_a_page_long_pattern(client, keys):
    response = await client.get("/v1/events?types=Nope", headers=keys["auditor"])
    body = assert_problem(response, 422, "invalid_request")
    assert body["errors"][0]["field"] == "types" and len(response.text) < 600
    assert "/schema/openapi.json" in body["errors"][0]["message"]
