"""Scores, strategies, plans and the dialer list through the HTTP API (API.md v1.1)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api_helpers import ago, assert_problem, placement, walk_pages


def strategy(portfolio: str, name: str | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name or f"s-{uuid.uuid4().hex[:8]}", "portfolios": [portfolio],
        "segments": [
            {"name": "late", "when": {"dpd_min": 91},
             "steps": [{"day": 0, "action": "call"}, {"day": 21, "action": "escalate"}]},
            {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]},
        ],
        "challenger": {"split": 0.2, "segments": [
            {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}]},
    }
    body.update(changes)
    return body


async def _caught_up(client) -> None:
    for _ in range(600):
        body = (await client.get("/ready")).json()
        if all(p["positions_behind"] == 0 for p in body["projections"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(body)


async def _eventually(client, get, ready) -> Any:  # type: ignore[no-untyped-def]
    """``await get()`` once ``ready(answer)`` holds: read models may trail ``/ready`` by a
    commit while other transactions on a shared server hold the feed back."""
    await _caught_up(client)
    for _ in range(200):
        answer = await get()
        if ready(answer):
            return answer
        await asyncio.sleep(0.05)
    return answer


async def _activate(client, keys, portfolio: str, **changes: Any) -> dict[str, Any]:
    saved = await client.post("/v1/strategies", json=strategy(portfolio, **changes),
                              headers=keys["supervisor"])
    assert saved.status_code == 201, saved.text
    body = saved.json()
    activated = await client.post(f"/v1/strategies/{body['strategy_id']}/activation",
                                  headers=keys["supervisor"])
    assert activated.status_code == 201, activated.text
    return body


async def _place(client, keys, portfolio: str, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/cases", json=placement(portfolio=portfolio, **changes),
                                 headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_bank_score_shows_in_the_case_view_beside_the_behaviour_score(client, keys, case) -> None:
    path = f"/v1/cases/{case['case_id']}/scores/bureau"
    body = {"value": 640, "model_version": "b-3", "scored_at": ago(hours=2)}
    response = await client.put(path, json=body, headers=keys["integration"])
    assert response.status_code == 201, response.text
    assert response.json()["version"] == case["version"] + 1
    older = {"value": 100, "model_version": "b-2", "scored_at": ago(days=3)}
    assert (await client.put(path, json=older, headers=keys["integration"])).status_code == 201
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["scores"]["bureau"]["value"] == 640  # the latest scored_at wins
    behaviour = view["scores"]["behaviour"]
    assert behaviour["model_version"] == "ledger-behaviour-1"
    assert sum(r["points"] for r in behaviour["reasons"]) == behaviour["value"]
    # as_of before the scores: only behaviour
    early = await client.get(f"/v1/cases/{case['case_id']}?as_of={ago(days=10).replace('+', '%2B')}",
                             headers=keys["agent"])
    assert set(early.json()["scores"]) == {"behaviour"}


@pytest.mark.parametrize(("model", "body", "field"), [
    ("behaviour", {"value": 1, "model_version": "x"}, "model"),
    ("bureau", {"value": 1001, "model_version": "x"}, "value"),
    ("Bad Model", {"value": 5, "model_version": "x"}, "model"),
])
async def test_bad_scores_are_refused_with_the_field(client, keys, case, model, body, field) -> None:
    response = await client.put(f"/v1/cases/{case['case_id']}/scores/{model}",
                                json={**body, "scored_at": ago(hours=1)}, headers=keys["integration"])
    problem = assert_problem(response, 422, "invalid_request")
    assert problem["errors"][0]["field"] == field


async def test_a_naive_scored_at_is_refused_and_agents_may_not_score(client, keys, case) -> None:
    path = f"/v1/cases/{case['case_id']}/scores/bureau"
    naive = {"value": 5, "model_version": "x", "scored_at": "2026-01-01T00:00:00"}
    assert_problem(await client.put(path, json=naive, headers=keys["integration"]), 422, "invalid_request")
    ok = {"value": 5, "model_version": "x", "scored_at": ago(hours=1)}
    assert_problem(await client.put(path, json=ok, headers=keys["agent"]), 403, "forbidden")


async def test_saving_versions_and_reading_them_back(client, keys) -> None:
    body = strategy("p-versions", name="cards-default")
    first = await client.post("/v1/strategies", json=body, headers=keys["supervisor"])
    assert first.status_code == 201, first.text
    assert first.json() | {"warnings": []} == {"strategy_id": first.json()["strategy_id"], "version": 1,
                                                "status": "draft", "warnings": []}
    second = await client.post("/v1/strategies", json=body, headers=keys["admin"])
    assert (second.json()["strategy_id"], second.json()["version"]) == (first.json()["strategy_id"], 2)
    one = await client.get(f"/v1/strategies/{first.json()['strategy_id']}", headers=keys["analyst"])
    assert [v["status"] for v in one.json()["versions"]] == ["draft", "draft"]
    listed = await client.get("/v1/strategies", headers=keys["supervisor"])
    assert [s["name"] for s in listed.json()["items"]] == ["cards-default"]
    assert_problem(await client.post("/v1/strategies", json=body, headers=keys["agent"]), 403, "forbidden")
    assert_problem(await client.get(f"/v1/strategies/{uuid.uuid4()}", headers=keys["supervisor"]),
                   404, "not_found")


@pytest.mark.parametrize(("changes", "field"), [
    ({"segments": []}, "segments"),
    ({"segments": [{"name": "late", "when": {"dpd_min": 91}, "steps": [{"day": 0, "action": "call"}]}]},
     "segments"),
    ({"segments": [{"name": "rest", "when": {}, "steps": [{"day": 5, "action": "call"},
                                                          {"day": 1, "action": "call"}]}]},
     "segments[0].steps[1].day"),
    # The schema's own check names the field in the same notation as the rules' (an audit
    # found "segments.0.steps.0.action" here beside "segments[0].steps[1].day" above).
    ({"segments": [{"name": "rest", "when": {}, "steps": [{"day": 0, "action": "fax"}]}]},
     "segments[0].steps[0].action"),
])
async def test_a_strategy_that_cannot_be_evaluated_is_refused(client, keys, changes, field) -> None:
    response = await client.post("/v1/strategies", json=strategy("p-bad", **changes),
                                 headers=keys["supervisor"])
    problem = assert_problem(response, 422, "invalid_request")
    if field is not None:
        assert problem["errors"][0]["field"] == field


async def test_an_unseen_score_model_is_allowed_with_a_warning(client, keys) -> None:
    segments = [{"name": "bureau", "when": {"score": {"model": "fico9", "min": 700}},
                 "steps": [{"day": 0, "action": "call"}]},
                {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}]
    response = await client.post("/v1/strategies", json=strategy("p-warn", segments=segments),
                                 headers=keys["supervisor"])
    assert response.status_code == 201
    assert "fico9" in response.json()["warnings"][0]


async def test_activation_conflicts_with_another_active_strategy_on_a_portfolio(client, keys) -> None:
    first = await _activate(client, keys, "p-shared")
    again = await client.post(f"/v1/strategies/{first['strategy_id']}/activation", headers=keys["supervisor"])
    assert again.status_code == 200 and again.json()["status"] == "active"
    other = await client.post("/v1/strategies", json=strategy("p-shared"), headers=keys["supervisor"])
    refused = await client.post(f"/v1/strategies/{other.json()['strategy_id']}/activation",
                                headers=keys["supervisor"])
    assert_problem(refused, 409, "strategy_conflict")
    assert_problem(await client.post(f"/v1/strategies/{first['strategy_id']}/activation",
                                     headers=keys["agent"]), 403, "forbidden")
    assert_problem(await client.post(f"/v1/strategies/{uuid.uuid4()}/activation",
                                     headers=keys["supervisor"]), 404, "not_found")


async def test_a_case_placed_under_an_active_strategy_has_a_plan_and_a_segment_entry(client, keys) -> None:
    active = await _activate(client, keys, "p-plan")
    case = await _place(client, keys, "p-plan")
    plan = await client.get(f"/v1/cases/{case['case_id']}/plan", headers=keys["agent"])
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["strategy_id"] == active["strategy_id"] and body["version"] == 1
    assert body["arm"] in {"champion", "challenger"}
    assert body["segment"] == ("late" if body["arm"] == "champion" else "rest")
    assert body["steps"][0]["status"] == "due" and body["paused"] is None
    assert body["next"]["action"] == "call" and body["next"]["allowed_at"] >= body["next"]["due_at"]
    history = (await client.get(f"/v1/cases/{case['case_id']}/history", headers=keys["auditor"])).json()
    entered = [e for e in history["items"] if e["type"] == "SegmentEntered"]
    assert len(entered) == 1 and entered[0]["actor"] == "system:strategy"
    assert entered[0]["data"]["segment"] == body["segment"]


async def test_a_case_outside_every_active_strategy_has_no_plan(client, keys, case) -> None:
    response = await client.get(f"/v1/cases/{case['case_id']}/plan", headers=keys["agent"])
    assert_problem(response, 404, "no_strategy")
    assert_problem(await client.get(f"/v1/cases/{uuid.uuid4()}/plan", headers=keys["agent"]),
                   404, "not_found")


async def test_a_disputed_case_is_paused(client, keys) -> None:
    await _activate(client, keys, "p-pause")
    case = await _place(client, keys, "p-pause")
    opened = await client.post(f"/v1/cases/{case['case_id']}/disputes",
                               json={"reason": "not mine", "opened_at": ago(minutes=1)},
                               headers=keys["agent"])
    assert opened.status_code == 201
    plan = (await client.get(f"/v1/cases/{case['case_id']}/plan", headers=keys["agent"])).json()
    assert plan["paused"] == {"reason": "disputed"} and plan["next"] is None


def _local_noon(zone: str) -> str:
    today = datetime.now(ZoneInfo(zone)).date()
    return datetime.combine(today, time(12, 0), ZoneInfo(zone)).isoformat()


async def test_the_dialer_list_shows_due_calls_and_agents_see_their_own(client, keys, make_key, tenant) -> None:
    await _activate(client, keys, "p-dial")
    mine, theirs = await _place(client, keys, "p-dial"), await _place(client, keys, "p-dial")
    for case, agent in ((mine, "agent-1"), (theirs, "agent-2")):
        assigned = await client.post(f"/v1/cases/{case['case_id']}/assignment",
                                     json={"agent_id": agent}, headers=keys["supervisor"])
        assert assigned.status_code == 201
    at = _local_noon("America/Chicago").replace("+", "%2B")
    everyone = await _eventually(
        client, lambda: client.get(f"/v1/dialer-list?at={at}&limit=10", headers=keys["supervisor"]),
        lambda r: len(r.json()["items"]) == 2)
    assert everyone.status_code == 200, everyone.text
    items = everyone.json()["items"]
    assert {i["case_id"] for i in items} == {mine["case_id"], theirs["case_id"]}
    assert all(i["phone"] == "+15551234567" and i["allowed_until"] > i["due_at"] for i in items)
    created = await client.post("/v1/keys", json={"role": "agent", "agent_id": "agent-1"},
                                headers=keys["admin"])
    bound = {"Authorization": f"Bearer {created.json()['key']}"}
    own = await client.get(f"/v1/dialer-list?at={at}", headers=bound)
    assert [i["case_id"] for i in own.json()["items"]] == [mine["case_id"]]
    assert_problem(await client.get(f"/v1/dialer-list?at={at}&agent_id=agent-2", headers=bound),
                   403, "agent_mismatch")
    night = _local_noon("America/Chicago").replace("T12:", "T23:").replace("+", "%2B")
    late = await client.get(f"/v1/dialer-list?at={night}", headers=keys["supervisor"])
    assert late.json()["items"] == []  # outside the Regulation F hours
    assert_problem(await client.get("/v1/dialer-list?at=2026-01-01T12:00:00", headers=keys["supervisor"]),
                   422, "invalid_request")
    assert_problem(await client.get("/v1/dialer-list", headers=keys["analyst"]), 403, "forbidden")
    # a call made moves the case off the list
    called = await client.post(f"/v1/cases/{mine['case_id']}/contacts", json={
        "channel": "phone", "direction": "outbound", "outcome": "no_answer",
        "occurred_at": ago(minutes=1), "agent_id": "agent-1"}, headers=keys["agent"])
    assert called.status_code == 201
    after = await _eventually(
        client, lambda: client.get(f"/v1/dialer-list?at={at}", headers=keys["supervisor"]),
        lambda r: mine["case_id"] not in {i["case_id"] for i in r.json()["items"]})
    assert mine["case_id"] not in {i["case_id"] for i in after.json()["items"]}


async def test_metrics_compare_arms_and_segments_side_by_side(client, keys) -> None:
    await _activate(client, keys, "p-metrics")
    cases = [await _place(client, keys, "p-metrics") for _ in range(4)]
    paid = await client.post(f"/v1/cases/{cases[0]['case_id']}/payments", json={
        "external_id": "M-1", "amount": 1234, "currency": "USD", "received_at": ago(seconds=0),
        "method": "ach"}, headers=keys["integration"])
    assert paid.status_code == 201
    contact = await client.post(f"/v1/cases/{cases[1]['case_id']}/contacts", json={
        "channel": "phone", "direction": "outbound", "outcome": "right_party",
        "occurred_at": ago(seconds=0), "agent_id": "a"}, headers=keys["agent"])
    assert contact.status_code == 201
    inbound = await client.post(f"/v1/cases/{cases[2]['case_id']}/contacts", json={
        "channel": "phone", "direction": "inbound", "outcome": "right_party",
        "occurred_at": ago(seconds=0), "agent_id": "a"}, headers=keys["agent"])
    assert inbound.status_code == 201
    plan = (await client.get(f"/v1/cases/{cases[0]['case_id']}/plan", headers=keys["agent"])).json()
    by_arm = await _eventually(
        client, lambda: client.get("/v1/metrics/recovery?group_by=arm", headers=keys["analyst"]),
        lambda r: sum(i["recovered_amount"] for i in r.json()["items"]) == 1234)
    await _eventually(
        client, lambda: client.get("/v1/metrics/contacts?group_by=arm", headers=keys["supervisor"]),
        lambda r: sum(i["inbound"] for i in r.json()["items"]) == 1)
    assert by_arm.status_code == 200, by_arm.text
    items = {i["group"]: i for i in by_arm.json()["items"]}
    assert set(items) <= {"champion", "challenger"} and sum(i["cases"] for i in items.values()) == 4
    assert items[plan["arm"]]["recovered_amount"] == 1234
    by_segment = await client.get("/v1/metrics/recovery?group_by=segment", headers=keys["analyst"])
    assert sum(i["recovered_amount"] for i in by_segment.json()["items"]) == 1234
    contacts = await client.get("/v1/metrics/contacts?group_by=arm", headers=keys["supervisor"])
    assert sum(i["right_party"] for i in contacts.json()["items"]) == 1
    # Inbound counts by arm and segment as by channel (found by a black-box audit: 0 here).
    by_channel = await client.get("/v1/metrics/contacts?group_by=channel", headers=keys["supervisor"])
    by_segment = await client.get("/v1/metrics/contacts?group_by=segment", headers=keys["supervisor"])
    for grouped in (contacts, by_channel, by_segment):
        assert sum(i["inbound"] for i in grouped.json()["items"]) == 1
        assert sum(i["attempts"] for i in grouped.json()["items"]) == 1
    promises = await client.get("/v1/metrics/promises?group_by=segment", headers=keys["auditor"])
    assert promises.status_code == 200 and promises.json()["items"] == []


async def test_the_work_queue_puts_a_due_call_first(client, keys) -> None:
    await _activate(client, keys, "p-queue")
    small = await _place(client, keys, "p-queue", principal=1000, interest=0, fees=0, past_due_amount=500)
    large = await _place(client, keys, "p-other")  # larger balance, in no strategy
    for case in (small, large):
        assigned = await client.post(f"/v1/cases/{case['case_id']}/assignment",
                                     json={"agent_id": "agent-q"}, headers=keys["supervisor"])
        assert assigned.status_code == 201
    queue = await _eventually(
        client, lambda: client.get("/v1/work-queue?agent_id=agent-q", headers=keys["supervisor"]),
        lambda r: len(r.json()["items"]) == 2 and r.json()["items"][0]["call_due"])
    items = queue.json()["items"]
    assert [i["case"]["case_id"] for i in items] == [small["case_id"], large["case_id"]]
    assert [i["call_due"] for i in items] == [True, False]
    ceased = await client.post(f"/v1/cases/{small['case_id']}/cease", headers=keys["agent"],
                               json={"channels": ["phone"], "received_at": ago(seconds=1)})
    assert ceased.status_code == 201
    queue = await _eventually(  # no more calls to that debtor: no call due first
        client, lambda: client.get("/v1/work-queue?agent_id=agent-q", headers=keys["supervisor"]),
        lambda r: not any(i["call_due"] for i in r.json()["items"]))
    assert [i["case"]["case_id"] for i in queue.json()["items"]] == [large["case_id"],
                                                                      small["case_id"]]


SMS_BODY = "{{ agency_name }}: {{ balance }} is due on {{ external_ref }}. {{ opt_out }}"
AUTO_SEGMENTS = [{"name": "rest", "when": {},
                  "steps": [{"day": 0, "action": "sms", "template": "nudge", "auto": True},
                            {"day": 1, "action": "call"}]}]


async def test_templates_must_be_saved_and_an_auto_step_is_queued_once(app, client, keys) -> None:
    refused = await client.post("/v1/strategies", json=strategy("p-auto", segments=AUTO_SEGMENTS,
                                                                 challenger=None),
                                headers=keys["supervisor"])
    problem = assert_problem(refused, 422, "invalid_request")
    assert problem["errors"][0]["field"] == "segments[0].steps[0].template"
    saved = await client.post("/v1/templates", json={"name": "nudge", "channel": "sms",
                                                     "locale": "en_US", "body": SMS_BODY},
                              headers=keys["supervisor"])
    assert saved.status_code == 201, saved.text
    await _activate(client, keys, "p-auto", segments=AUTO_SEGMENTS, challenger=None)
    case = await _place(client, keys, "p-auto")
    plan = (await client.get(f"/v1/cases/{case['case_id']}/plan", headers=keys["agent"])).json()
    assert plan["next"]["action"] == "sms" and plan["steps"][0]["auto"] is True
    await _caught_up(client)
    auto = app.state.sweeper.auto_steps

    async def run_auto_steps() -> int:  # in the app's own event loop (the client's portal)
        return await asyncio.to_thread(client.blocking_portal.call, auto.run_once)

    for _ in range(100):  # the read model may trail /ready by a commit on a busy server
        if await run_auto_steps():
            break
        await asyncio.sleep(0.05)
    messages = await client.get(f"/v1/cases/{case['case_id']}/messages", headers=keys["agent"])
    assert [m["template"] for m in messages.json()["items"]] == ["nudge"]
    history = (await client.get(f"/v1/cases/{case['case_id']}/history", headers=keys["auditor"])).json()
    queued = [e for e in history["items"] if e["type"] == "MessageQueued"]
    assert [e["actor"] for e in queued] == ["system:strategy"]
    after = (await client.get(f"/v1/cases/{case['case_id']}/plan", headers=keys["agent"])).json()
    assert after["steps"][0]["status"] == "done"
    await _caught_up(client)
    await run_auto_steps()  # nothing more for this case
    again = await client.get(f"/v1/cases/{case['case_id']}/messages", headers=keys["agent"])
    assert len(again.json()["items"]) == 1


async def test_a_retried_save_with_the_same_idempotency_key_makes_no_second_version(client, keys) -> None:
    body = strategy("p-idem")
    headers = {**keys["supervisor"], "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = await client.post("/v1/strategies", json=body, headers=headers)
    again = await client.post("/v1/strategies", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers.get("idempotency-replayed") == "true"
    view = await client.get(f"/v1/strategies/{first.json()['strategy_id']}", headers=keys["supervisor"])
    assert view.json()["latest_version"] == 1


async def test_a_step_naming_a_template_of_another_channel_is_refused(client, keys) -> None:
    name = f"letter-{uuid.uuid4().hex[:6]}"
    saved = await client.post("/v1/templates", json={"name": name, "channel": "letter",
                                                     "locale": "en_US", "body": "Pay {{ balance }}."},
                              headers=keys["supervisor"])
    assert saved.status_code == 201, saved.text
    segments = [{"name": "all", "when": {},
                 "steps": [{"day": 0, "action": "sms", "template": name, "auto": True}]}]
    refused = await client.post("/v1/strategies", headers=keys["supervisor"],
                                json=strategy("p-mismatch", segments=segments, challenger=None))
    problem = assert_problem(refused, 422, "invalid_request")
    assert problem["errors"][0]["field"] == "segments[0].steps[0].template"


async def test_strategies_are_listed_in_pages_by_name(client, keys) -> None:
    admin = keys["supervisor"]  # a tenant of this test's own
    names = [f"p{i}-{uuid.uuid4().hex[:4]}" for i in range(3)]
    for name in reversed(names):
        saved = await client.post("/v1/strategies", json=strategy("p-pages", name=name,
                                                                  challenger=None), headers=admin)
        assert saved.status_code == 201, saved.text
    pages = await walk_pages(lambda p, **kw: client.get(p, headers=admin, **kw),
                             "/v1/strategies", 2)
    assert [[s["name"] for s in page] for page in pages] == [names[:2], names[2:]]


async def test_activation_takes_its_version_as_a_json_integer_only(client, keys) -> None:
    saved = await client.post("/v1/strategies", json=strategy("p-strict", challenger=None),
                              headers=keys["supervisor"])
    url = f"/v1/strategies/{saved.json()['strategy_id']}/activation"
    for bad in ("1", True, 1.5):
        refused = await client.post(url, json={"version": bad}, headers=keys["supervisor"])
        assert_problem(refused, 422, "invalid_request")
    activated = await client.post(url, json={"version": 1}, headers=keys["supervisor"])
    assert activated.status_code == 201, activated.text
    again = await client.post(url, headers=keys["supervisor"])  # no body: the latest
    assert again.status_code == 200, again.text
