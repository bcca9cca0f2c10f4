"""Offer policies (PUT/GET) and the offers they allow on a case."""

from __future__ import annotations

from datetime import date, timedelta

from api_helpers import assert_problem, placement
from negotiation_helpers import BALANCE, POLICY, placed_with_policy


async def test_a_policy_is_saved_versioned_and_read_back(client, keys):
    url = "/v1/policies/cards-x"
    first = await client.put(url, json=POLICY, headers=keys["supervisor"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["version"] == 1 and body["portfolio"] == "cards-x"
    assert body["authority"]["agent"] == {"max_waiver_pct": 10, "min_settlement_pct": 80}
    same = await client.put(url, json=POLICY, headers=keys["admin"])
    assert same.status_code == 200 and same.json()["version"] == 1
    changed = await client.put(url, json={**POLICY, "max_installments": 6}, headers=keys["supervisor"])
    assert changed.json()["version"] == 2 and changed.json()["max_installments"] == 6
    read = await client.get(url, headers=keys["agent"])
    assert read.status_code == 200 and read.json()["version"] == 2


async def test_only_supervisors_and_admins_set_policies(client, keys):
    for role in ("agent", "integration", "analyst", "auditor"):
        response = await client.put("/v1/policies/p", json=POLICY, headers=keys[role])
        assert_problem(response, 403, "forbidden")


async def test_a_malformed_policy_is_422_and_an_unknown_portfolio_404(client, keys):
    bad = [{**POLICY, "settlement_min_pct": []}, {**POLICY, "max_installments": 0},
           {**POLICY, "authority": {"auditor": {"max_waiver_pct": 1, "min_settlement_pct": 1}}},
           {**POLICY, "settlement_min_pct": [{"dpd_min": 0, "pct": 80}, {"dpd_min": 0, "pct": 50}]},
           {**POLICY, "unknown": 1}]
    for body in bad:
        response = await client.put("/v1/policies/p", json=body, headers=keys["supervisor"])
        assert response.status_code == 422, (body, response.text)
    assert_problem(await client.get("/v1/policies/none-here", headers=keys["agent"]), 404, "no_policy")


async def test_offers_quote_the_settlement_floor_and_plans_that_add_up(client, keys):
    case = await placed_with_policy(client, keys)
    response = await client.get(f"/v1/cases/{case['case_id']}/offers", headers=keys["agent"])
    assert response.status_code == 200, response.text
    offers = response.json()
    assert offers["settlement"]["pct"] == 80
    assert offers["settlement"]["amount"] == -(-BALANCE * 80 // 100)
    assert offers["settlement"]["valid_until"]
    plans = offers["plans"]
    assert [p["installments"] for p in plans] == list(range(2, 13))
    for plan in plans:
        count, amount = plan["installments"], plan["amount"]
        assert amount * (count - 1) + plan["last_amount"] == BALANCE
        assert amount >= POLICY["min_installment"] and plan["last_amount"] >= amount
        first = date.fromisoformat(plan["first_due_date"])
        assert first.weekday() < 5 and first > date.today() - timedelta(days=1)
        assert (date.fromisoformat(plan["last_due_date"]) - date.today()).days <= 366


async def test_older_cases_get_the_lower_settlement_tier(client, keys):
    case = await placed_with_policy(client, keys, days_past_due=200)
    offers = (await client.get(f"/v1/cases/{case['case_id']}/offers", headers=keys["integration"])).json()
    assert offers["settlement"]["pct"] == 50


async def test_offers_need_a_policy_and_a_permitted_role(client, keys):
    placed = await client.post("/v1/cases", json=placement(portfolio="no-policy-here"),
                               headers=keys["integration"])
    url = f"/v1/cases/{placed.json()['case_id']}/offers"
    assert_problem(await client.get(url, headers=keys["supervisor"]), 409, "no_policy")
    for role in ("analyst", "auditor"):
        assert_problem(await client.get(url, headers=keys[role]), 403, "forbidden")
