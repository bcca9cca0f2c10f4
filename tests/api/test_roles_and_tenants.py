"""The tenant × role matrix over every route: 403 for roles, 404 across tenants, no leaks."""

from __future__ import annotations

import uuid

import pytest
from api_helpers import ago, payment, placement

ALL = {"integration", "agent", "supervisor", "analyst", "auditor", "admin"}
AGENT_WORK = {"agent", "supervisor", "admin"}
SHARED = {"integration", "agent", "supervisor", "admin"}

# (name, method, path under the case or absolute, body, roles allowed)
CASE_ROUTES = [
    ("read", "GET", "", None, ALL),
    ("permission", "GET", "/contact-permission?channel=phone", None, AGENT_WORK),
    ("payment", "POST", "/payments", lambda: payment(), {"integration", "admin"}),
    ("reversal", "POST", "/payments/P-1/reversal", lambda: {"reason": "r", "reversed_at": ago(minutes=1)},
     {"integration", "admin"}),
    ("contact", "POST", "/contacts", lambda: {"channel": "letter", "direction": "outbound", "outcome": "delivered",
                                             "occurred_at": ago(minutes=1), "agent_id": "a"}, AGENT_WORK),
    ("promise", "POST", "/promises", lambda: {"amount": 1, "due_date": "2999-01-01", "made_at": ago(minutes=1),
                                             "agent_id": "a"}, AGENT_WORK),
    ("arrangement", "POST", "/arrangements", lambda: {"kind": "settlement", "agreed_at": ago(minutes=1),
                                                     "installments": [{"due_date": "2999-01-01", "amount": 1}]},
     AGENT_WORK),
    ("note", "POST", "/notes", lambda: {"text": "n"}, AGENT_WORK),
    ("dispute", "POST", "/disputes", lambda: {"reason": "r", "opened_at": ago(minutes=1)}, SHARED),
    ("resolution", "POST", f"/disputes/{uuid.uuid4()}/resolution",
     lambda: {"outcome": "rejected", "resolved_at": ago(minutes=1)}, SHARED),
    ("cease", "POST", "/cease", lambda: {"received_at": ago(minutes=1), "channels": ["sms"]}, SHARED),
    ("hold", "POST", "/holds", lambda: {"kind": "other", "starts_at": ago(minutes=1)}, SHARED),
    ("release", "POST", f"/holds/{uuid.uuid4()}/release", lambda: {"released_at": ago(minutes=1)}, SHARED),
    ("assignment", "POST", "/assignment", lambda: {"agency": "ag"}, {"supervisor", "admin"}),
    ("escalation", "POST", "/escalation", lambda: {"reason": "r", "escalated_at": ago(minutes=1)},
     {"supervisor", "admin"}),
    ("adjustment", "POST", "/adjustments", lambda: {"kind": "fee", "amount": 1, "reason": "r",
                                                   "occurred_at": ago(minutes=1)}, {"supervisor", "admin"}),
    ("closure", "POST", "/closure", lambda: {"reason": "recalled", "closed_at": ago(minutes=1)},
     {"integration", "supervisor", "admin"}),
    ("reopening", "POST", "/reopening", lambda: {"reason": "r", "reopened_at": ago(minutes=1)},
     {"integration", "supervisor", "admin"}),
]
OTHER_ROUTES = [
    ("place", "POST", "/v1/cases", lambda: placement(), {"integration", "admin"}),
    ("import", "POST", "/v1/cases/import", lambda: placement(), {"integration", "admin"}),
    ("permissions", "POST", "/v1/contact-permissions",
     lambda: {"channel": "phone", "at": ago(minutes=1), "case_ids": [str(uuid.uuid4())]}, AGENT_WORK),
    ("feed", "GET", "/v1/events", None, {"integration", "auditor", "admin"}),
    ("keys", "GET", "/v1/keys", None, {"admin"}),
]


async def _call(client, method, url, body, headers):
    if method == "GET":
        return await client.get(url, headers=headers)
    if body is None:
        return await client.post(url, content=b"", headers={**headers, "Content-Type": "application/x-ndjson"})
    return await client.post(url, json=body(), headers=headers)


@pytest.mark.parametrize("role", sorted(ALL))
async def test_each_role_reaches_exactly_the_routes_it_may_use(client, keys, case, role):
    for name, method, tail, body, allowed in CASE_ROUTES:
        response = await _call(client, method, f"/v1/cases/{case['case_id']}{tail}", body, keys[role])
        if role in allowed:
            assert response.status_code not in (401, 403, 404, 422) and response.status_code < 500, (
                name, response.text)
        else:
            assert response.status_code == 403, (name, response.text)
    for name, method, url, body, allowed in OTHER_ROUTES:
        response = await _call(client, method, url, body, keys[role])
        if role in allowed:
            assert response.status_code in (200, 201), (name, response.text)
        else:
            assert response.status_code == 403, (name, response.text)


async def test_no_key_of_another_tenant_reads_or_writes_a_case(client, keys, case, make_key):
    other_tenant = f"t-{uuid.uuid4().hex[:10]}"
    for role in sorted(ALL):
        headers = await make_key(other_tenant, role)
        for name, method, tail, body, allowed in CASE_ROUTES:
            response = await _call(client, method, f"/v1/cases/{case['case_id']}{tail}", body, headers)
            assert response.status_code == (404 if role in allowed else 403), (role, name, response.text)
        by_ref = await client.get(f"/v1/cases/by-ref/{case['external_ref']}", headers=headers)
        assert by_ref.status_code == 404
    batch = await client.post("/v1/contact-permissions", headers=await make_key(other_tenant, "agent"),
                              json={"channel": "phone", "at": ago(minutes=1), "case_ids": [case["case_id"]]})
    assert batch.json()["results"][0]["reasons"][0]["rule"] == "not_found"
    feed = await client.get("/v1/events", headers=await make_key(other_tenant, "auditor"))
    assert all(item["case_id"] != case["case_id"] for item in feed.json()["items"])
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["version"] == 1  # nothing was written by the other tenant


async def test_requests_without_a_valid_key_are_401(client, keys, case):
    url = f"/v1/cases/{case['case_id']}"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Basic abc"})).status_code == 401
