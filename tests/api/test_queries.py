"""The read-side routes: case lists, work queue, metrics, breaches and audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api_helpers import ago, assert_problem, payment, placement


async def _caught_up(client) -> None:
    """Wait until /ready shows every read model has applied the whole feed (the app's
    runner works in the app's own event loop)."""
    for _ in range(600):
        body = (await client.get("/ready")).json()
        if all(p["positions_behind"] == 0 for p in body["projections"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"read models still behind: {body['projections']}")


async def _place(client, keys, **changes):
    response = await client.post("/v1/cases", json=placement(**changes), headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def _assign(client, keys, case, agent):
    response = await client.post(f"/v1/cases/{case['case_id']}/assignment",
                                 json={"agent_id": agent, "assigned_at": ago(hours=5)},
                                 headers=keys["supervisor"])
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("path", "allowed", "refused"), [
    ("/v1/cases", ("supervisor", "analyst", "auditor", "admin"), ("agent", "integration")),
    ("/v1/metrics/recovery?group_by=portfolio", ("supervisor", "analyst", "auditor", "admin"),
     ("agent", "integration")),
    ("/v1/work-queue?agent_id=ann", ("agent", "supervisor", "admin"),
     ("analyst", "auditor", "integration")),
    ("/v1/compliance/breaches", ("supervisor", "admin"), ("agent", "analyst", "auditor")),
    ("/v1/audit", ("auditor", "admin"), ("supervisor", "analyst", "agent", "integration")),
])
async def test_each_read_route_admits_exactly_its_roles(client, keys, path, allowed, refused):
    for role in allowed:
        response = await client.get(path, headers=keys[role])
        assert response.status_code == 200, (role, response.text)
        assert isinstance(response.json()["as_of_position"], int)
    for role in refused:
        assert_problem(await client.get(path, headers=keys[role]), 403, "forbidden")


async def test_the_case_list_filters_pages_and_shows_no_debtor_data(app, client, keys, make_key, tenant):
    cases = [await _place(client, keys, portfolio="p-list") for _ in range(3)]
    await _assign(client, keys, cases[1], "ann")
    await _caught_up(client)
    page = (await client.get("/v1/cases?limit=2", headers=keys["analyst"])).json()
    assert [c["case_id"] for c in page["items"]] == [c["case_id"] for c in cases[:2]]
    assert "Ana Li" not in str(page) and "debtor" not in page["items"][0]
    rest = await client.get(f"/v1/cases?limit=2&cursor={page['next_cursor']}",
                            headers=keys["analyst"])
    assert [c["case_id"] for c in rest.json()["items"]] == [cases[2]["case_id"]]
    assert rest.json()["next_cursor"] is None
    first = page["items"][0]
    assert (first["balance"], first["status"], first["dpd_bucket"], first["placed_balance"]) == (
        cases[0]["balance"], "active", cases[0]["dpd_bucket"], 285150)
    assigned = (await client.get("/v1/cases?assigned_to=ann", headers=keys["analyst"])).json()
    assert [c["case_id"] for c in assigned["items"]] == [cases[1]["case_id"]]
    by_ref = await client.get(f"/v1/cases?external_ref={cases[2]['external_ref']}&status=active"
                              f"&dpd_bucket={cases[2]['dpd_bucket']}", headers=keys["analyst"])
    assert [c["case_id"] for c in by_ref.json()["items"]] == [cases[2]["case_id"]]
    stranger = await make_key(tenant + "-other", "analyst")
    assert (await client.get("/v1/cases", headers=stranger)).json()["items"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "status=asleep", "dpd_bucket=7-8",
                                   "cursor=not-a-cursor"])
async def test_bad_list_parameters_are_422_problems(client, keys, query):
    assert_problem(await client.get(f"/v1/cases?{query}", headers=keys["analyst"]),
                   422, "invalid_request")


@pytest.mark.parametrize("path", [
    "/v1/metrics/recovery?group_by=planet", "/v1/metrics/recovery",
    "/v1/metrics/recovery?group_by=agent&from=2026-13-01",
    "/v1/metrics/liquidation?cohort=2026-1", "/v1/metrics/roll-rates?month=march",
    "/v1/audit?cursor=xyz", "/v1/compliance/breaches?from=yesterday",
])
async def test_bad_metric_and_trail_parameters_are_422_problems(client, keys, path):
    assert_problem(await client.get(path, headers=keys["admin"]), 422, "invalid_request")


async def test_the_work_queue_puts_the_largest_exposure_first_with_next_contact_time(app, client, keys):
    small = await _place(client, keys, principal=1000, interest=0, fees=0, past_due_amount=500)
    large = await _place(client, keys, principal=900000, interest=0, fees=0, past_due_amount=500)
    for case in (small, large):
        await _assign(client, keys, case, "ann")
    await _caught_up(client)
    response = await client.get("/v1/work-queue?agent_id=ann", headers=keys["agent"])
    items = response.json()["items"]
    assert [i["case"]["case_id"] for i in items] == [large["case_id"], small["case_id"]]
    assert [i["priority"] for i in items] == [1, 2]
    assert all(i["next_contact_allowed_at"] is not None and not i["broken_promise"] for i in items)
    assert_problem(await client.get("/v1/work-queue", headers=keys["agent"]), 422,
                   "invalid_request")
    unassigned = await client.get("/v1/work-queue", headers=keys["supervisor"])
    assert all(i["case"]["assigned_to"] is None for i in unassigned.json()["items"])


async def test_metrics_reconcile_with_the_payments_made(app, client, keys):
    case = await _place(client, keys, portfolio="p-metrics")
    await _assign(client, keys, case, "ann")
    contact = {"channel": "sms", "direction": "outbound", "outcome": "right_party",
               "occurred_at": ago(hours=3), "agent_id": "ann"}
    assert (await client.post(f"/v1/cases/{case['case_id']}/contacts", json=contact,
                              headers=keys["agent"])).status_code == 201
    paid = await client.post(f"/v1/cases/{case['case_id']}/payments",
                             json=payment(amount=28515), headers=keys["integration"])
    assert paid.status_code == 201, paid.text
    await _caught_up(client)
    for group_by, group in (("portfolio", "p-metrics"), ("agent", "ann"), ("channel", "sms")):
        body = (await client.get(f"/v1/metrics/recovery?group_by={group_by}",
                                 headers=keys["analyst"])).json()
        assert body["items"] == [{"group": group, "placed_amount": 285150,
                                  "recovered_amount": 28515, "recovery_rate": 0.1,
                                  "cases": 1, "cases_paid": 1}]
        assert body["as_of_position"] > 0
    contacts = (await client.get("/v1/metrics/contacts?group_by=channel",
                                 headers=keys["analyst"])).json()["items"]
    assert contacts == [{"group": "sms", "attempts": 1, "contacts": 1, "right_party": 1,
                         "contact_rate": 1.0, "rpc_rate": 1.0, "inbound": 0}]
    cohort = datetime.fromisoformat(case["placed_at"]).strftime("%Y-%m")
    curve = (await client.get(f"/v1/metrics/liquidation?cohort={cohort}",
                              headers=keys["analyst"])).json()
    assert curve["items"][-1]["recovered_amount"] == 28515 and curve["cases"] == 1
    rolls = (await client.get("/v1/metrics/roll-rates?month=2026-01",
                              headers=keys["analyst"])).json()["items"]
    assert [r["group"] for r in rolls] == ["1-30", "31-60", "61-90", "91-120", "121-150",
                                           "151-180", "180+"]


async def test_breaches_and_the_audit_trail_list_recorded_facts(app, client, keys, case):
    night = (datetime.now(UTC) - timedelta(days=1)).replace(hour=7, minute=0, second=0,
                                                           microsecond=0)
    body = {"channel": "phone", "direction": "outbound", "outcome": "no_answer",
            "occurred_at": night.isoformat(), "agent_id": "agent-9"}
    assert (await client.post(f"/v1/cases/{case['case_id']}/contacts", json=body,
                              headers=keys["agent"])).status_code == 201
    await _caught_up(client)
    breaches = (await client.get("/v1/compliance/breaches?agent_id=agent-9",
                                 headers=keys["supervisor"])).json()
    assert [(b["case_id"], b["rule"]) for b in breaches["items"]] == [
        (case["case_id"], "outside_hours")]
    trail = (await client.get(f"/v1/audit?case_id={case['case_id']}&limit=1",
                              headers=keys["auditor"])).json()
    assert trail["items"][0]["type"] == "Placed" and trail["items"][0]["amount"] == 285150
    following = (await client.get(f"/v1/audit?case_id={case['case_id']}&cursor="
                                  f"{trail['next_cursor']}", headers=keys["auditor"])).json()
    assert [i["type"] for i in following["items"]] == ["ContactRecorded"]
    assert following["items"][0]["actor"].startswith("key:") or following["items"][0]["actor"]
    contacts_only = (await client.get("/v1/audit?type=ContactRecorded",
                                      headers=keys["auditor"])).json()
    assert {i["case_id"] for i in contacts_only["items"]} == {case["case_id"]}


async def test_ready_reports_each_projections_lag(app, client):
    await _caught_up(client)
    body = (await client.get("/ready")).json()
    assert {p["name"] for p in body["projections"]} == {"cases", "contacts", "compliance", "audit",
                                                       "negotiation", "strategies"}
    assert all(p["positions_behind"] == 0 for p in body["projections"])
