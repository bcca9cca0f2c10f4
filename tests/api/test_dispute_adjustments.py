"""A dispute's adjustment is a waiver: beyond the resolver's waiver authority under the
portfolio's offer policy it waits for approval while the resolution is recorded, as complaint
redress does (found by a black-box audit: policy limits did not apply this way)."""

from __future__ import annotations

import pytest

from api_helpers import ago, assert_problem, placement
from negotiation_helpers import BALANCE, placed_with_policy


async def _disputed(client, keys, case=None):
    if case is None:
        case = (await client.post("/v1/cases", json=placement(),
                                  headers=keys["integration"])).json()
    url = f"/v1/cases/{case['case_id']}"
    opened = await client.post(f"{url}/disputes", json={"reason": "not mine",
                                                         "opened_at": ago(hours=2)},
                               headers=keys["agent"])
    assert opened.status_code == 201, opened.text
    return url, opened.json()["dispute_id"]


def _resolution(adjustment, outcome="upheld"):
    return {"outcome": outcome, "resolved_at": ago(minutes=5), "adjustment": adjustment}


@pytest.mark.parametrize("role", ["agent", "integration", "supervisor"])
async def test_without_a_policy_every_role_that_resolves_disputes_adjusts(client, keys, role):
    """API.md v1: disputes are the agent's and the integration's too, adjustment included;
    authority limits come with an offer policy."""
    url, dispute = await _disputed(client, keys)
    resolved = await client.post(f"{url}/disputes/{dispute}/resolution",
                                 json=_resolution(200000), headers=keys[role])
    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["balance"] == BALANCE - 200000
    assert "adjustment_approval_id" not in resolved.json()


async def test_beyond_the_policys_authority_the_adjustment_waits_for_approval(client, keys):
    url, dispute = await _disputed(client, keys, await placed_with_policy(client, keys))
    resolved = await client.post(f"{url}/disputes/{dispute}/resolution",
                                 json=_resolution(200000), headers=keys["integration"])
    assert resolved.status_code == 201, resolved.text
    body = resolved.json()
    assert body["balance"] == BALANCE and body["adjustment_approval_id"]  # not applied
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["open_dispute"] is None and view["status"] == "active"  # the fact is recorded
    assert [a["approval_id"] for a in view["pending_approvals"]] == [body["adjustment_approval_id"]]
    decided = await client.post(f"/v1/approvals/{body['adjustment_approval_id']}/decision",
                                json={"decision": "approve", "reason": "upheld"},
                                headers=keys["admin"])
    assert decided.status_code == 201, decided.text
    assert (await client.get(url, headers=keys["agent"])).json()["balance"] == BALANCE - 200000


async def test_under_a_policy_an_agent_adjusts_within_their_waiver_limit_only(client, keys):
    within_url, within = await _disputed(client, keys, await placed_with_policy(client, keys))
    small = await client.post(f"{within_url}/disputes/{within}/resolution",
                              json=_resolution(BALANCE // 20), headers=keys["agent"])
    assert small.status_code == 201 and small.json()["balance"] == BALANCE - BALANCE // 20
    beyond_url, beyond = await _disputed(client, keys, await placed_with_policy(client, keys))
    large = await client.post(f"{beyond_url}/disputes/{beyond}/resolution",
                              json=_resolution(BALANCE // 2), headers=keys["agent"])
    assert large.status_code == 201 and large.json()["balance"] == BALANCE
    assert large.json()["adjustment_approval_id"]


async def test_a_rejected_dispute_takes_no_adjustment(client, keys):
    url, dispute = await _disputed(client, keys)
    refused = await client.post(f"{url}/disputes/{dispute}/resolution",
                                json=_resolution(100, outcome="rejected"),
                                headers=keys["supervisor"])
    assert_problem(refused, 422, "invalid_request")
    assert refused.json()["errors"][0]["field"] == "adjustment"
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["open_dispute"] is not None and view["balance"] == BALANCE  # nothing recorded
