"""Keys bound to people (API.md v1.1): an agent key acts as its agent and no one else."""

from __future__ import annotations

import asyncio

from api_helpers import ago, assert_problem, placement


async def _caught_up(client) -> None:
    for _ in range(600):
        body = (await client.get("/ready")).json()
        if all(p["positions_behind"] == 0 for p in body["projections"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"read models still behind: {body['projections']}")


async def _bound_key(client, keys, agent: str) -> tuple[dict[str, str], str]:
    response = await client.post("/v1/keys", json={"role": "agent", "agent_id": agent},
                                 headers=keys["admin"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["agent_id"] == agent and created["role"] == "agent"
    return {"Authorization": f"Bearer {created['key']}"}, created["key_id"]


async def _place_assigned(client, keys, agent: str) -> str:
    placed = await client.post("/v1/cases", json=placement(), headers=keys["integration"])
    case_id = placed.json()["case_id"]
    assigned = await client.post(f"/v1/cases/{case_id}/assignment",
                                 json={"agent_id": agent, "assigned_at": ago(hours=5)},
                                 headers=keys["supervisor"])
    assert assigned.status_code == 201, assigned.text
    return case_id


def _contact(**changes):
    body = {"channel": "phone", "direction": "outbound", "outcome": "no_answer",
            "occurred_at": ago(hours=2)}
    body.update(changes)
    return body


async def test_a_bound_key_records_facts_as_its_own_agent_when_the_body_names_none(client, keys):
    headers, key_id = await _bound_key(client, keys, "agent-7")
    case_id = await _place_assigned(client, keys, "agent-7")
    contact = await client.post(f"/v1/cases/{case_id}/contacts", json=_contact(), headers=headers)
    assert contact.status_code == 201, contact.text
    promise = await client.post(f"/v1/cases/{case_id}/promises", headers=headers, json={
        "amount": 1000, "due_date": ago(days=-3)[:10], "made_at": ago(hours=1)})
    assert promise.status_code == 201, promise.text
    named_self = await client.post(f"/v1/cases/{case_id}/contacts", headers=headers,
                                   json=_contact(agent_id="agent-7"))
    assert named_self.status_code == 201, named_self.text
    history = (await client.get(f"/v1/cases/{case_id}/history", headers=keys["auditor"])).json()
    facts = [e for e in history["items"] if e["type"] in ("ContactRecorded", "PromiseMade")]
    assert [e["data"]["agent_id"] for e in facts] == ["agent-7"] * 3
    assert {e["actor"] for e in facts} == {f"key:{key_id}/agent:agent-7"}


async def test_a_bound_key_naming_another_agent_is_403_agent_mismatch_and_stores_nothing(client, keys):
    headers, _ = await _bound_key(client, keys, "agent-7")
    case_id = await _place_assigned(client, keys, "agent-7")
    before = (await client.get(f"/v1/cases/{case_id}", headers=keys["auditor"])).json()["version"]
    forged = await client.post(f"/v1/cases/{case_id}/contacts", headers=headers,
                               json=_contact(agent_id="agent-9"))
    assert_problem(forged, 403, "agent_mismatch")
    promise = await client.post(f"/v1/cases/{case_id}/promises", headers=headers, json={
        "amount": 1000, "due_date": ago(days=-3)[:10], "made_at": ago(hours=1),
        "agent_id": "agent-9"})
    assert_problem(promise, 403, "agent_mismatch")
    after = (await client.get(f"/v1/cases/{case_id}", headers=keys["auditor"])).json()["version"]
    assert after == before


async def test_supervisors_may_name_any_agent_and_unbound_keys_must_name_one(client, keys):
    case_id = await _place_assigned(client, keys, "agent-7")
    by_supervisor = await client.post(f"/v1/cases/{case_id}/contacts", headers=keys["supervisor"],
                                      json=_contact(agent_id="agent-9"))
    assert by_supervisor.status_code == 201, by_supervisor.text
    unnamed = await client.post(f"/v1/cases/{case_id}/contacts", headers=keys["supervisor"],
                                json=_contact())
    body = assert_problem(unnamed, 422, "invalid_request")
    assert body["errors"][0]["field"] == "agent_id"


async def test_a_bound_keys_work_queue_is_its_own(client, keys):
    headers, _ = await _bound_key(client, keys, "agent-7")
    mine = await _place_assigned(client, keys, "agent-7")
    theirs = await _place_assigned(client, keys, "agent-9")
    await _caught_up(client)
    queue = await client.get("/v1/work-queue", headers=headers)
    assert queue.status_code == 200, queue.text
    shown = [i["case"]["case_id"] for i in queue.json()["items"]]
    assert mine in shown and theirs not in shown
    assert_problem(await client.get("/v1/work-queue?agent_id=agent-9", headers=headers),
                   403, "agent_mismatch")
    other = (await client.get("/v1/work-queue?agent_id=agent-9", headers=keys["supervisor"])).json()
    assert [i["case"]["case_id"] for i in other["items"]] == [theirs]


async def test_the_audit_trail_names_the_key_and_its_agent_and_filters_by_either(client, keys):
    headers, key_id = await _bound_key(client, keys, "agent-7")
    case_id = await _place_assigned(client, keys, "agent-7")
    assert (await client.post(f"/v1/cases/{case_id}/notes", json={"text": "called back"},
                              headers=headers)).status_code == 201
    await _caught_up(client)
    for actor in (f"key:{key_id}", "agent:agent-7", f"key:{key_id}/agent:agent-7"):
        trail = (await client.get("/v1/audit", params={"actor": actor, "case_id": case_id},
                                  headers=keys["auditor"])).json()
        assert [(e["type"], e["actor"]) for e in trail["items"]] == [
            ("NoteAdded", f"key:{key_id}/agent:agent-7")], actor
    nobody = (await client.get("/v1/audit", params={"actor": "agent:agent-9", "case_id": case_id},
                               headers=keys["auditor"])).json()
    assert nobody["items"] == []


async def test_only_agent_keys_can_be_bound_and_listed_keys_show_their_agent(client, keys):
    refused = await client.post("/v1/keys", json={"role": "supervisor", "agent_id": "agent-7"},
                                headers=keys["admin"])
    body = assert_problem(refused, 422, "invalid_request")
    assert body["errors"][0]["field"] == "agent_id"
    _, key_id = await _bound_key(client, keys, "agent-7")
    listed = (await client.get("/v1/keys", headers=keys["admin"])).json()["items"]
    assert {k["key_id"]: k["agent_id"] for k in listed}[key_id] == "agent-7"


async def test_the_cli_binds_agent_keys_and_refuses_to_bind_other_roles(database_url, capsys):
    import argparse

    from api_helpers import SECRET
    from ledger.cli import _keys_command, build_parser

    parsed = build_parser().parse_args(
        ["keys", "create", "--tenant", "cli-a", "--role", "agent", "--agent-id", "agent-7"])
    assert await _keys_command(database_url, SECRET.encode(), parsed) == 0
    assert capsys.readouterr().out.strip().startswith("lk_")
    listing = argparse.Namespace(keys_command="list", tenant="cli-a")
    await _keys_command(database_url, SECRET.encode(), listing)
    assert capsys.readouterr().out.rstrip("\n").endswith("\tagent-7")
    refused = build_parser().parse_args(
        ["keys", "create", "--tenant", "cli-a", "--role", "supervisor", "--agent-id", "agent-7"])
    assert await _keys_command(database_url, SECRET.encode(), refused) == 2
    assert "--agent-id" in capsys.readouterr().err
