"""Each fact route: its success response and its refusal codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_helpers import ago, assert_problem, payment


def _url(case, tail):
    return f"/v1/cases/{case['case_id']}/{tail}"


def _in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def test_a_payment_allocates_and_lowers_the_balance(client, keys, case):
    response = await client.post(_url(case, "payments"), json=payment(amount=5000),
                                 headers=keys["integration"])
    assert response.status_code == 201
    assert response.json()["balance"] == case["balance"] - 5000
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert (view["paid_total"], view["fees"], view["interest"]) == (5000, 0, 31250 - 1100)


async def test_a_payment_in_another_currency_is_refused(client, keys, case):
    response = await client.post(_url(case, "payments"), json=payment(currency="EUR"),
                                 headers=keys["integration"])
    assert_problem(response, 409, "currency_mismatch")


async def test_a_repeated_external_id_replays_or_is_a_duplicate(client, keys, case):
    body = payment()
    first = await client.post(_url(case, "payments"), json=body, headers=keys["integration"])
    again = await client.post(_url(case, "payments"), json=body, headers=keys["integration"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["version"] == first.json()["version"]
    other = await client.post(_url(case, "payments"), json={**body, "amount": 7},
                              headers=keys["integration"])
    assert_problem(other, 409, "duplicate_payment")


async def test_a_reversal_restores_the_balance_once(client, keys, case):
    body = payment(amount=3000)
    await client.post(_url(case, "payments"), json=body, headers=keys["integration"])
    reversal = {"reason": "returned", "reversed_at": ago(minutes=1)}
    url = _url(case, f"payments/{body['external_id']}/reversal")
    response = await client.post(url, json=reversal, headers=keys["integration"])
    assert response.status_code == 201 and response.json()["balance"] == case["balance"]
    assert_problem(await client.post(url, json=reversal, headers=keys["integration"]),
                   409, "already_reversed")
    assert_problem(await client.post(_url(case, "payments/NOPE/reversal"), json=reversal,
                                     headers=keys["integration"]), 409, "unknown_payment")


async def test_a_contact_is_recorded_and_lists_the_rules_it_broke(client, keys, case):
    night = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)  # 01:00/02:00 Chicago
    if night > datetime.now(UTC):
        night -= timedelta(days=1)
    body = {"channel": "phone", "direction": "outbound", "outcome": "no_answer",
            "occurred_at": night.isoformat(), "agent_id": "agent-7"}
    response = await client.post(_url(case, "contacts"), json=body, headers=keys["agent"])
    assert response.status_code == 201
    assert [b["rule"] for b in response.json()["breaches"]] == ["outside_hours"]


async def test_promises_are_refused_by_their_rules(client, keys, case):
    url = _url(case, "promises")
    base = {"amount": 10000, "due_date": _in_days(10), "made_at": ago(minutes=5), "agent_id": "a-1"}
    assert_problem(await client.post(url, json={**base, "amount": 10**9}, headers=keys["agent"]),
                   409, "promise_exceeds_balance")
    assert_problem(await client.post(url, json={**base, "due_date": "2020-01-01"},
                                     headers=keys["agent"]), 409, "due_date_in_past")
    made = await client.post(url, json=base, headers=keys["agent"])
    assert made.status_code == 201 and made.json()["promise_id"]
    assert made.json()["status"] == "promised"
    assert_problem(await client.post(url, json=base, headers=keys["agent"]), 409, "promise_pending")


async def test_arrangements_are_agreed_once_and_within_the_balance(client, keys, case):
    url = _url(case, "arrangements")
    plan = {"kind": "installments", "agreed_at": ago(minutes=5), "waive_interest": False,
            "installments": [{"due_date": _in_days(30), "amount": 50000},
                             {"due_date": _in_days(60), "amount": 50000}]}
    too_big = {**plan, "installments": [{"due_date": _in_days(30), "amount": 10**9}]}
    assert_problem(await client.post(url, json=too_big, headers=keys["supervisor"]),
                   409, "arrangement_exceeds_balance")
    agreed = await client.post(url, json=plan, headers=keys["supervisor"])
    assert agreed.status_code == 201 and agreed.json()["status"] == "arrangement"
    assert_problem(await client.post(url, json=plan, headers=keys["agent"]), 409, "arrangement_active")


async def test_a_dispute_opens_once_and_resolves_with_an_adjustment(client, keys, case):
    opened = await client.post(_url(case, "disputes"), json={"reason": "not mine", "opened_at": ago(minutes=3)},
                               headers=keys["integration"])
    assert opened.status_code == 201 and opened.json()["status"] == "disputed"
    assert_problem(await client.post(_url(case, "disputes"), json={"reason": "again", "opened_at": ago(minutes=2)},
                                     headers=keys["agent"]), 409, "dispute_open")
    resolution = {"outcome": "upheld", "resolved_at": ago(minutes=1), "adjustment": 3900}
    url = _url(case, f"disputes/{opened.json()['dispute_id']}/resolution")
    resolved = await client.post(url, json=resolution, headers=keys["supervisor"])
    assert resolved.status_code == 201 and resolved.json()["balance"] == case["balance"] - 3900
    assert_problem(await client.post(url, json=resolution, headers=keys["supervisor"]),
                   409, "unknown_dispute")


async def test_cease_and_holds_block_contact_until_released(client, keys, case):
    ceased = await client.post(_url(case, "cease"), json={"received_at": ago(minutes=5), "channels": ["email"]},
                               headers=keys["agent"])
    assert ceased.status_code == 201
    hold = await client.post(_url(case, "holds"), json={"kind": "hardship", "starts_at": ago(minutes=4)},
                             headers=keys["integration"])
    assert hold.status_code == 201 and hold.json()["status"] == "on_hold"
    url = _url(case, f"holds/{hold.json()['hold_id']}/release")
    released = await client.post(url, json={"released_at": ago(minutes=1)}, headers=keys["supervisor"])
    assert released.status_code == 201 and released.json()["status"] == "active"
    assert_problem(await client.post(url, json={"released_at": ago(minutes=1)}, headers=keys["agent"]),
                   409, "unknown_hold")
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["ceased_channels"] == ["email"] and view["holds"] == []


async def test_assignment_escalation_adjustment_and_notes_are_recorded(client, keys, case):
    sup = keys["supervisor"]
    assert (await client.post(_url(case, "assignment"), json={"agent_id": "agent-7"}, headers=sup)).status_code == 201
    assert (await client.post(_url(case, "notes"), json={"text": "called back"}, headers=keys["agent"])).status_code == 201
    fee = await client.post(_url(case, "adjustments"), json={"kind": "fee", "amount": 500, "reason": "late",
                                                             "occurred_at": ago(minutes=2)}, headers=sup)
    assert fee.status_code == 201 and fee.json()["balance"] == case["balance"] + 500
    waiver = {"kind": "waiver", "amount": 10**11, "reason": "x", "occurred_at": ago(minutes=1)}
    assert_problem(await client.post(_url(case, "adjustments"), json=waiver, headers=sup),
                   409, "waiver_exceeds_balance")
    escalated = await client.post(_url(case, "escalation"), json={"reason": "legal", "escalated_at": ago(minutes=1)},
                                  headers=sup)
    assert escalated.status_code == 201 and escalated.json()["status"] == "legal"
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=sup)).json()
    assert view["assigned_to"] == "agent-7" and view["version"] == 5


async def test_a_backdated_assignment_leaves_the_later_one_in_force_everywhere(client, keys, case):
    sup = keys["supervisor"]
    for agent, days in (("z1", 2), ("z0", 5)):  # z0's, from 5 days ago, is reported last
        response = await client.post(_url(case, "assignment"), headers=sup,
                                     json={"agent_id": agent, "assigned_at": ago(days=days)})
        assert response.status_code == 201, response.text
    position = response.headers["ledger-position"]
    url = f"/v1/cases/{case['case_id']}"
    assert (await client.get(url, headers=sup)).json()["assigned_to"] == "z1"
    assert (await client.get(url, params={"as_of": ago(days=3)}, headers=sup)).json()[
        "assigned_to"] == "z0"
    listed = await client.get("/v1/cases", headers=sup, params={
        "assigned_to": "z1", "min_position": position})
    assert [c["case_id"] for c in listed.json()["items"]] == [case["case_id"]]
    queue = await client.get("/v1/work-queue", headers=sup, params={
        "agent_id": "z0", "min_position": position})
    assert queue.json()["items"] == []


async def test_closure_and_reopening_follow_their_rules(client, keys, case):
    closure = {"reason": "paid", "closed_at": ago(minutes=2)}
    assert_problem(await client.post(_url(case, "closure"), json=closure, headers=keys["supervisor"]),
                   409, "balance_outstanding")
    reopening = {"reason": "error", "reopened_at": ago(minutes=1)}
    assert_problem(await client.post(_url(case, "reopening"), json=reopening, headers=keys["integration"]),
                   409, "case_open")
    closed = await client.post(_url(case, "closure"), json={**closure, "reason": "recalled"},
                               headers=keys["integration"])
    assert closed.status_code == 201 and closed.json()["status"] == "closed"
    assert_problem(await client.post(_url(case, "closure"), json={**closure, "reason": "recalled"},
                                     headers=keys["integration"]), 409, "case_closed")
    note = {"channel": "phone", "direction": "outbound", "outcome": "busy",
            "occurred_at": ago(minutes=1), "agent_id": "a"}
    assert_problem(await client.post(_url(case, "contacts"), json=note, headers=keys["agent"]), 409, "case_closed")
    reopened = await client.post(_url(case, "reopening"), json=reopening, headers=keys["supervisor"])
    assert reopened.status_code == 201 and reopened.json()["status"] == "active"
