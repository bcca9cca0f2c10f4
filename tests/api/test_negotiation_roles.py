"""Who may use the offer, approval and complaint routes; idempotent asks and decisions."""

from __future__ import annotations

import uuid

import pytest

from api_helpers import ago
from negotiation_helpers import BALANCE, POLICY, placed_with_policy, settlement

ALL = ("integration", "agent", "supervisor", "analyst", "auditor", "admin")


def _routes(case_id: str) -> list[tuple[str, str, str, object, set[str]]]:
    complaint = {"category": "billing", "received_at": ago(minutes=5), "channel": "email",
                 "summary": "s"}
    return [
        ("put policy", "PUT", f"/v1/policies/p-{uuid.uuid4().hex[:6]}", POLICY, {"supervisor", "admin"}),
        ("offers", "GET", f"/v1/cases/{case_id}/offers", None,
         {"agent", "supervisor", "integration", "admin"}),
        ("list approvals", "GET", "/v1/approvals", None, {"supervisor", "auditor", "admin"}),
        ("complaint", "POST", f"/v1/cases/{case_id}/complaints", complaint,
         {"agent", "supervisor", "integration", "admin"}),
        ("case complaints", "GET", f"/v1/cases/{case_id}/complaints", None, set(ALL)),
        ("complaint metrics", "GET", "/v1/metrics/complaints?group_by=agent", None,
         {"supervisor", "analyst", "auditor", "admin"}),
        ("approval metrics", "GET", "/v1/metrics/approvals?group_by=decision", None,
         {"supervisor", "analyst", "auditor", "admin"}),
    ]


@pytest.mark.parametrize("role", ALL)
async def test_each_role_reaches_exactly_the_negotiation_routes_it_may_use(client, keys, role):
    case = await placed_with_policy(client, keys)
    for name, method, url, body, allowed in _routes(case["case_id"]):
        response = await client.request(method, url, json=body, headers=keys[role])
        if role in allowed:
            assert response.status_code in (200, 201), (name, response.text)
        else:
            assert response.status_code == 403, (name, response.text)


async def test_asking_and_deciding_again_with_the_same_idempotency_key_replays(client, keys):
    case = await placed_with_policy(client, keys)
    body = settlement(BALANCE * 60 // 100)
    headers = {**keys["agent"], "Idempotency-Key": "ask-1"}
    first = await client.post(f"/v1/cases/{case['case_id']}/arrangements", json=body, headers=headers)
    again = await client.post(f"/v1/cases/{case['case_id']}/arrangements", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["approval_id"] == first.json()["approval_id"]
    assert again.headers["Idempotency-Replayed"] == "true"
    url = f"/v1/approvals/{first.json()['approval_id']}/decision"
    decide = {**keys["supervisor"], "Idempotency-Key": "decide-1"}
    one = await client.post(url, json={"decision": "approve"}, headers=decide)
    two = await client.post(url, json={"decision": "approve"}, headers=decide)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["arrangement"] is not None and view["pending_approvals"] == []
