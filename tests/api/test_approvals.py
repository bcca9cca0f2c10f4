"""Maker–checker: requests beyond authority wait (202), a second key decides."""

from __future__ import annotations

from api_helpers import assert_problem, payment
from negotiation_helpers import BALANCE, caught_up, instalments, placed_with_policy, settled, settlement


async def _ask(client, keys, case, body, role="agent"):
    response = await client.post(f"/v1/cases/{case['case_id']}/arrangements", json=body,
                                 headers=keys[role])
    assert response.status_code == 202, response.text
    return response.json()


async def test_an_arrangement_within_authority_is_applied_at_once(client, keys):
    case = await placed_with_policy(client, keys)
    response = await client.post(f"/v1/cases/{case['case_id']}/arrangements",
                                 json=settlement(BALANCE * 85 // 100), headers=keys["agent"])
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "arrangement"


async def test_a_settlement_below_the_agents_floor_waits_and_a_supervisor_applies_it(client, keys, make_key, tenant):
    case = await placed_with_policy(client, keys)
    asked = await _ask(client, keys, case, settlement(BALANCE * 60 // 100))
    assert asked["status"] == "pending" and asked["reasons"] == ["settlement_below_authority"]
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["arrangement"] is None and view["status"] == "active"
    assert [a["approval_id"] for a in view["pending_approvals"]] == [asked["approval_id"]]
    one = await client.get(f"/v1/approvals/{asked['approval_id']}", headers=keys["agent"])
    assert one.json()["status"] == "pending"
    assert one.json()["request"]["installments"][0]["amount"] == BALANCE * 60 // 100

    decided = await client.post(f"/v1/approvals/{asked['approval_id']}/decision",
                                json={"decision": "approve", "reason": "hardship"},
                                headers=keys["supervisor"])
    assert decided.status_code == 201, decided.text
    body = decided.json()
    assert body["status"] == "approved" and body["arrangement_id"]
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["arrangement"]["kind"] == "settlement"
    assert [i["amount"] for i in view["arrangement"]["installments"]] == [BALANCE * 60 // 100]
    assert view["pending_approvals"] == []
    history = (await client.get(f"/v1/cases/{case['case_id']}/history", headers=keys["auditor"])).json()
    types = [item["type"] for item in history["items"]]
    assert types[1:] == ["ApprovalRequested", "ApprovalDecided", "ArrangementAgreed"]
    again = await client.post(f"/v1/approvals/{asked['approval_id']}/decision",
                              json={"decision": "decline"}, headers=keys["admin"])
    assert_problem(again, 409, "already_decided")


async def test_the_key_that_asked_may_not_decide(client, keys):
    case = await placed_with_policy(client, keys)
    asked = await client.post(f"/v1/cases/{case['case_id']}/arrangements",
                              json=settlement(BALANCE * 30 // 100), headers=keys["supervisor"])
    assert asked.status_code == 202, asked.text
    approval = asked.json()["approval_id"]
    same = await client.post(f"/v1/approvals/{approval}/decision", json={"decision": "approve"},
                             headers=keys["supervisor"])
    assert_problem(same, 409, "same_maker_checker")
    declined = await client.post(f"/v1/approvals/{approval}/decision",
                                 json={"decision": "decline", "reason": "too low"},
                                 headers=keys["admin"])
    assert declined.status_code == 201 and declined.json()["status"] == "declined"
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["arrangement"] is None


async def test_a_decision_beyond_the_deciders_authority_is_403(client, keys, make_key, tenant):
    case = await placed_with_policy(client, keys)
    asked = await _ask(client, keys, case, settlement(BALANCE * 30 // 100))
    url = f"/v1/approvals/{asked['approval_id']}/decision"
    assert_problem(await client.post(url, json={"decision": "approve"}, headers=keys["supervisor"]),
                   403, "beyond_authority")
    for role in ("agent", "integration", "analyst", "auditor"):
        assert_problem(await client.post(url, json={"decision": "approve"}, headers=keys[role]),
                       403, "forbidden")
    approved = await client.post(url, json={"decision": "approve"}, headers=keys["admin"])
    assert approved.status_code == 201 and approved.json()["status"] == "approved"


async def test_longer_plans_and_large_waivers_wait_for_approval(client, keys, make_key, tenant):
    case = await placed_with_policy(client, keys)
    long_plan = await _ask(client, keys, case, instalments(13, 10000))
    assert long_plan["reasons"] == ["installments_above_policy"]
    waiver = await client.post(f"/v1/cases/{case['case_id']}/adjustments", headers=keys["supervisor"],
                               json={"kind": "waiver", "amount": BALANCE * 60 // 100,
                                     "reason": "goodwill", "occurred_at": settlement(1)["agreed_at"]})
    assert waiver.status_code == 202 and waiver.json()["reasons"] == ["waiver_above_authority"]
    small = await client.post(f"/v1/cases/{case['case_id']}/adjustments", headers=keys["supervisor"],
                              json={"kind": "waiver", "amount": 1000, "reason": "goodwill",
                                    "occurred_at": settlement(1)["agreed_at"]})
    assert small.status_code == 201, small.text
    other = await make_key(tenant, "supervisor")
    plan_ok = await client.post(f"/v1/approvals/{long_plan['approval_id']}/decision",
                                json={"decision": "approve"}, headers=other)
    assert plan_ok.status_code == 201, plan_ok.text
    waived = await client.post(f"/v1/approvals/{waiver.json()['approval_id']}/decision",
                               json={"decision": "approve"}, headers=keys["admin"])
    assert waived.status_code == 201
    assert waived.json()["balance"] == BALANCE - 1000 - BALANCE * 60 // 100


async def test_a_request_that_no_longer_fits_the_case_is_refused_at_decision(client, keys):
    case = await placed_with_policy(client, keys)
    asked = await _ask(client, keys, case, settlement(BALANCE * 70 // 100))
    paid = await client.post(f"/v1/cases/{case['case_id']}/payments",
                             json=payment(amount=BALANCE * 50 // 100), headers=keys["integration"])
    assert paid.status_code == 201
    refused = await client.post(f"/v1/approvals/{asked['approval_id']}/decision",
                                json={"decision": "approve"}, headers=keys["admin"])
    assert_problem(refused, 409, "arrangement_exceeds_balance")
    one = await client.get(f"/v1/approvals/{asked['approval_id']}", headers=keys["supervisor"])
    assert one.json()["status"] == "pending"


async def test_unknown_and_other_tenants_approvals_are_404(client, keys, make_key):
    case = await placed_with_policy(client, keys)
    asked = await _ask(client, keys, case, settlement(BALANCE * 60 // 100))
    stranger = await make_key("another-tenant", "admin")
    for headers in (stranger,):
        assert_problem(await client.post(f"/v1/approvals/{asked['approval_id']}/decision",
                                         json={"decision": "approve"}, headers=headers),
                       404, "not_found")
    assert_problem(await client.post("/v1/approvals/00000000-0000-0000-0000-000000000001/decision",
                                     json={"decision": "approve"}, headers=keys["admin"]),
                   404, "not_found")
    bad = await client.post(f"/v1/approvals/{asked['approval_id']}/decision",
                            json={"decision": "maybe"}, headers=keys["supervisor"])
    assert bad.status_code == 422


async def test_pending_approvals_are_listed_and_in_the_supervisors_queue(client, keys):
    case = await placed_with_policy(client, keys)
    first = await _ask(client, keys, case, settlement(BALANCE * 60 // 100))
    await client.post(f"/v1/approvals/{first['approval_id']}/decision",
                      json={"decision": "decline"}, headers=keys["supervisor"])
    second = await _ask(client, keys, case, settlement(BALANCE * 61 // 100))
    await caught_up(client)
    pending = await settled(
        lambda: client.get("/v1/approvals?status=pending", headers=keys["supervisor"]),
        lambda r: r.json()["items"])
    assert [a["approval_id"] for a in pending.json()["items"]] == [second["approval_id"]]
    declined = await settled(
        lambda: client.get("/v1/approvals?status=declined", headers=keys["auditor"]),
        lambda r: r.json()["items"])
    assert [a["approval_id"] for a in declined.json()["items"]] == [first["approval_id"]]
    page = await client.get("/v1/approvals?limit=1", headers=keys["supervisor"])
    assert page.json()["next_cursor"]
    rest = await client.get(f"/v1/approvals?limit=1&cursor={page.json()['next_cursor']}",
                            headers=keys["supervisor"])
    assert rest.json()["items"][0]["approval_id"] == second["approval_id"]
    assert_problem(await client.get("/v1/approvals", headers=keys["agent"]), 403, "forbidden")
    queue = await client.get("/v1/work-queue", headers=keys["supervisor"])
    assert [a["approval_id"] for a in queue.json()["pending_approvals"]] == [second["approval_id"]]
    metrics = await client.get("/v1/metrics/approvals?group_by=decision", headers=keys["analyst"])
    by_group = {item["group"]: item for item in metrics.json()["items"]}
    assert by_group["declined"]["requested"] == 1 and by_group["pending"]["pending"] == 1
    requester = await client.get("/v1/metrics/approvals?group_by=requester", headers=keys["supervisor"])
    [only] = requester.json()["items"]
    assert only["requested"] == 2 and only["declined"] == 1 and only["approval_rate"] == 0.0


async def test_waivers_count_together_against_the_limit(client, keys):
    case = await placed_with_policy(client, keys)
    url = f"/v1/cases/{case['case_id']}/adjustments"
    at = settlement(1)["agreed_at"]
    first = await client.post(url, headers=keys["supervisor"], json={
        "kind": "waiver", "amount": BALANCE * 40 // 100, "reason": "goodwill", "occurred_at": at})
    assert first.status_code == 201, first.text
    second = await client.post(url, headers=keys["supervisor"], json={
        "kind": "waiver", "amount": BALANCE * 20 // 100, "reason": "goodwill", "occurred_at": at})
    # 20% of the balance left, but 60% of what was owed before the first waiver: above 50%.
    assert second.status_code == 202, second.text
    assert second.json()["reasons"] == ["waiver_above_authority"]
    view = await client.get(f"/v1/cases/{case['case_id']}", headers=keys["supervisor"])
    assert view.json()["balance"] == BALANCE - BALANCE * 40 // 100
