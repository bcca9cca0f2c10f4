"""Complaints: deadlines, the collection pause, resolution, overdue breaches and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_helpers import SECRET, ago, assert_problem, placement
from ledger.config import Settings
from ledger.eventstore import EventStore
from ledger.privacy import DataKeys, resolve_master_key
from ledger.projections.deadlines import tick
from ledger.services.cases import CaseService
from ledger.services.repositories import case_repository
from negotiation_helpers import BALANCE, caught_up, placed_with_policy, settled


def complaint(**changes):
    body = {"category": "collection_conduct", "received_at": ago(hours=1), "channel": "phone",
            "summary": "Too many calls", "pause_collection": False}
    body.update(changes)
    return body


async def _place(client, keys, **changes):
    response = await client.post("/v1/cases", json=placement(**changes), headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_complaint_gets_a_deadline_from_the_jurisdiction(client, keys):
    us = await _place(client, keys)
    gb = await _place(client, keys, debtor={"name": "Al", "timezone": "Europe/London",
                                            "jurisdiction": "GB"})
    received = "2024-02-10T12:00:00+00:00"  # a leap year: 15 days → 25 Feb, 56 days → 6 Apr
    r_us = await client.post(f"/v1/cases/{us['case_id']}/complaints",
                             json=complaint(received_at=received), headers=keys["agent"])
    assert r_us.status_code == 201, r_us.text
    assert r_us.json()["respond_by_date"] == "2024-02-25"
    assert r_us.json()["respond_by"] == "2024-02-25T23:59:59-06:00"  # the end of the day in Chicago
    r_gb = await client.post(f"/v1/cases/{gb['case_id']}/complaints",
                             json=complaint(received_at=received), headers=keys["integration"])
    assert r_gb.json()["respond_by_date"] == "2024-04-06"
    assert r_gb.json()["respond_by"] == "2024-04-06T23:59:59+01:00"  # BST began 31 March


async def test_pause_collection_holds_the_case_until_resolution(client, keys):
    case = await _place(client, keys)
    url = f"/v1/cases/{case['case_id']}"
    made = await client.post(f"{url}/complaints", json=complaint(pause_collection=True),
                             headers=keys["supervisor"])
    assert made.status_code == 201 and made.json()["hold_id"]
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["status"] == "on_hold" and view["holds"][0]["kind"] == "complaint"
    assert view["open_complaints"][0]["complaint_id"] == made.json()["complaint_id"]
    permission = await client.get(f"{url}/contact-permission", headers=keys["agent"],
                                  params={"channel": "phone", "at": ago(minutes=1)})
    assert permission.json()["allowed"] is False
    resolved = await client.post(
        f"{url}/complaints/{made.json()['complaint_id']}/resolution", headers=keys["supervisor"],
        json={"outcome": "upheld", "root_cause": "contact_frequency", "resolved_at": ago(minutes=5),
              "redress": 2500})
    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["balance"] == case["balance"] - 2500
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["holds"] == [] and view["open_complaints"] == [] and view["status"] == "active"
    listed = (await client.get(f"{url}/complaints", headers=keys["auditor"])).json()["items"]
    assert listed[0]["root_cause"] == "contact_frequency" and listed[0]["redress"] == 2500


async def test_resolution_refusals(client, keys):
    case = await _place(client, keys)
    url = f"/v1/cases/{case['case_id']}/complaints"
    made = (await client.post(url, json=complaint(), headers=keys["agent"])).json()
    resolution = f"{url}/{made['complaint_id']}/resolution"
    missing = await client.post(resolution, json={"outcome": "upheld", "resolved_at": ago(minutes=1)},
                                headers=keys["agent"])
    assert missing.status_code == 422
    unknown_cause = await client.post(resolution, headers=keys["agent"], json={
        "outcome": "upheld", "root_cause": "gremlins", "resolved_at": ago(minutes=1)})
    assert unknown_cause.status_code == 422
    rejected_redress = await client.post(resolution, headers=keys["agent"], json={
        "outcome": "rejected", "root_cause": "no_fault_found", "resolved_at": ago(minutes=1),
        "redress": 100})
    assert_problem(rejected_redress, 422, "invalid_request")
    other = await client.post(f"{url}/00000000-0000-0000-0000-000000000001/resolution",
                              headers=keys["agent"], json={"outcome": "upheld", "root_cause": "other",
                                                           "resolved_at": ago(minutes=1)})
    assert_problem(other, 409, "unknown_complaint")
    ok = await client.post(resolution, headers=keys["agent"], json={
        "outcome": "rejected", "root_cause": "no_fault_found", "resolved_at": ago(minutes=1)})
    assert ok.status_code == 201
    twice = await client.post(resolution, headers=keys["agent"], json={
        "outcome": "upheld", "root_cause": "other", "resolved_at": ago(minutes=1)})
    assert_problem(twice, 409, "complaint_resolved")
    for role in ("analyst", "auditor"):
        assert_problem(await client.post(url, json=complaint(), headers=keys[role]), 403, "forbidden")
    naive = await client.post(url, json=complaint(received_at="2026-01-01T10:00:00"), headers=keys["agent"])
    assert naive.status_code == 422


def _scheduler_service(pool, database_url):
    """A case service like the app's, on this test's event loop, for the scheduler's tick."""
    master = resolve_master_key(Settings(database_url=database_url, secret_key=SECRET),
                                derive_for_tests=True)
    store = EventStore(pool)
    return CaseService(case_repository(store, DataKeys(store.fetch, master)))


async def test_an_unanswered_complaint_becomes_an_overdue_breach(client, keys, pool, database_url):
    case = await _place(client, keys)
    url = f"/v1/cases/{case['case_id']}"
    old = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    made = (await client.post(f"{url}/complaints", json=complaint(received_at=old),
                              headers=keys["agent"])).json()
    await settled(lambda: pool.fetchval(
        "SELECT count(*) FROM rm_complaints WHERE complaint_id = $1", made["complaint_id"]),
        lambda found: found == 1)
    assert await tick(pool, _scheduler_service(pool, database_url)) >= 1
    history = (await client.get(f"{url}/history", headers=keys["auditor"])).json()["items"]
    assert history[-1]["type"] == "ComplaintOverdue"
    breaches = (await settled(
        lambda: client.get("/v1/compliance/breaches?rule=complaint_overdue",
                           headers=keys["supervisor"]),
        lambda r: r.json()["items"])).json()["items"]
    assert [b["case_id"] for b in breaches] == [case["case_id"]]
    assert made["complaint_id"] in breaches[0]["detail"]
    listed = (await client.get(f"{url}/complaints", headers=keys["agent"])).json()["items"]
    assert listed[0]["overdue"] is True


async def test_complaint_metrics_by_category_root_cause_and_agent(client, keys):
    case = await _place(client, keys)
    url = f"/v1/cases/{case['case_id']}/complaints"
    for category, hours in (("billing", 10), ("billing", 30), ("conduct", 5)):
        made = (await client.post(url, json=complaint(category=category, received_at=ago(hours=hours + 1)),
                                  headers=keys["agent"])).json()
        await client.post(f"{url}/{made['complaint_id']}/resolution", headers=keys["agent"], json={
            "outcome": "partial", "root_cause": "process_error", "resolved_at": ago(hours=1)})
    await client.post(url, json=complaint(category="conduct"), headers=keys["agent"])
    await caught_up(client)
    by_category = (await settled(
        lambda: client.get("/v1/metrics/complaints?group_by=category", headers=keys["analyst"]),
        lambda r: sum(i["received"] for i in r.json()["items"]) == 4
        and sum(i["resolved"] for i in r.json()["items"]) == 3)).json()
    groups = {item["group"]: item for item in by_category["items"]}
    assert groups["billing"]["received"] == 2 and groups["billing"]["resolved"] == 2
    assert groups["billing"]["resolution_hours_p50"] == 20.0
    assert groups["conduct"]["open"] == 1 and groups["conduct"]["resolution_hours_p50"] == 5.0
    causes = (await client.get("/v1/metrics/complaints?group_by=root_cause",
                               headers=keys["supervisor"])).json()["items"]
    assert {(i["group"], i["received"]) for i in causes} == {("process_error", 3), ("unresolved", 1)}
    agents = (await client.get("/v1/metrics/complaints?group_by=agent",
                               headers=keys["auditor"])).json()["items"]
    assert [(i["group"], i["received"]) for i in agents] == [("unassigned", 4)]
    assert (await client.get("/v1/metrics/complaints?group_by=colour",
                             headers=keys["analyst"])).status_code == 422


async def test_redress_beyond_the_resolvers_waiver_authority_waits_for_approval(client, keys):
    case = await placed_with_policy(client, keys)  # agents may waive up to 10% alone
    url = f"/v1/cases/{case['case_id']}"
    made = (await client.post(f"{url}/complaints", json=complaint(pause_collection=True),
                              headers=keys["agent"])).json()
    resolved = await client.post(
        f"{url}/complaints/{made['complaint_id']}/resolution", headers=keys["agent"],
        json={"outcome": "upheld", "root_cause": "contact_frequency",
              "resolved_at": ago(minutes=5), "redress": BALANCE // 2})
    assert resolved.status_code == 201, resolved.text
    body = resolved.json()
    assert body["balance"] == BALANCE and body["redress_approval_id"]  # not applied
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["open_complaints"] == [] and view["holds"] == []  # the resolution is recorded
    assert [a["approval_id"] for a in view["pending_approvals"]] == [body["redress_approval_id"]]
    approval = await client.get(f"/v1/approvals/{body['redress_approval_id']}",
                                headers=keys["supervisor"])
    assert approval.status_code == 200, approval.text
    assert approval.json()["reasons"] == ["waiver_above_authority"]
    decided = await client.post(f"/v1/approvals/{body['redress_approval_id']}/decision",
                                json={"decision": "approve", "reason": "fair"},
                                headers=keys["supervisor"])
    assert decided.status_code == 201, decided.text
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["balance"] == BALANCE - BALANCE // 2
    # The approved redress is the complaint's (found by a black-box audit: it stayed null).
    listed = (await client.get(f"{url}/complaints", headers=keys["agent"])).json()["items"]
    assert [(c["complaint_id"], c["redress"]) for c in listed] == [
        (made["complaint_id"], BALANCE // 2)]
    await caught_up(client)
    metrics = (await settled(
        lambda: client.get("/v1/metrics/complaints?group_by=root_cause", headers=keys["analyst"]),
        lambda r: any(i["group"] == "contact_frequency" for i in r.json()["items"]))).json()
    redressed = {i["group"]: i["redress_amount"] for i in metrics["items"]}
    assert redressed["contact_frequency"] >= BALANCE // 2


async def test_redress_within_the_resolvers_authority_is_waived_at_once(client, keys):
    case = await placed_with_policy(client, keys)
    url = f"/v1/cases/{case['case_id']}"
    made = (await client.post(f"{url}/complaints", json=complaint(), headers=keys["agent"])).json()
    resolved = await client.post(
        f"{url}/complaints/{made['complaint_id']}/resolution", headers=keys["agent"],
        json={"outcome": "partial", "root_cause": "contact_frequency",
              "resolved_at": ago(minutes=5), "redress": 2500})
    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["balance"] == BALANCE - 2500
    assert resolved.json()["redress_approval_id"] is None


async def test_a_complaints_hold_is_not_released_while_the_complaint_is_open(client, keys):
    case = await _place(client, keys)
    url = f"/v1/cases/{case['case_id']}"
    made = (await client.post(f"{url}/complaints", json=complaint(pause_collection=True),
                              headers=keys["agent"])).json()
    released = await client.post(f"{url}/holds/{made['hold_id']}/release",
                                 json={"released_at": ago(minutes=1)}, headers=keys["agent"])
    assert_problem(released, 409, "hold_for_open_complaint")
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["status"] == "on_hold" and view["holds"][0]["kind"] == "complaint"


async def test_without_a_policy_an_agents_or_integrations_redress_waits_for_a_supervisor(client, keys):
    case = await _place(client, keys)  # its portfolio has no offer policy
    url = f"/v1/cases/{case['case_id']}"

    async def resolve(role: str, redress: int):
        made = (await client.post(f"{url}/complaints", json=complaint(),
                                  headers=keys[role])).json()
        resolved = await client.post(
            f"{url}/complaints/{made['complaint_id']}/resolution", headers=keys[role],
            json={"outcome": "upheld", "root_cause": "contact_frequency",
                  "resolved_at": ago(minutes=5), "redress": redress})
        assert resolved.status_code == 201, resolved.text
        return resolved.json()

    for role in ("agent", "integration"):
        parked = await resolve(role, case["balance"])
        assert parked["balance"] == case["balance"] and parked["redress_approval_id"]
    decided = await client.post(f"/v1/approvals/{parked['redress_approval_id']}/decision",
                                json={"decision": "approve", "reason": "fair"},
                                headers=keys["supervisor"])
    assert decided.status_code == 201, decided.text
    assert (await client.get(url, headers=keys["agent"])).json()["balance"] == 0
    other = await _place(client, keys)
    url = f"/v1/cases/{other['case_id']}"
    waived = await resolve("supervisor", 1000)  # a role that may adjust balances: at once
    assert waived["balance"] == other["balance"] - 1000 and waived["redress_approval_id"] is None
