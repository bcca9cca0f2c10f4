"""Ids of other streams used as case ids, and times at the edge of the calendar: 4xx, never 500.

The feed shows every stream's events (a template's, a policy's) with the stream id where a
case id goes, so a client may well send one to a case route; and an RFC 3339 time such as
``9999-12-31T23:59:59-12:00`` is valid text whose UTC instant is in the year 10000.
"""

from __future__ import annotations

import uuid

import pytest

from api_helpers import ago, assert_problem, placement

EDGES = ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00Z")


async def _template_id(client, keys) -> str:
    made = await client.post("/v1/templates", headers=keys["supervisor"], json={
        "name": f"t-{uuid.uuid4().hex[:8]}", "channel": "letter", "body": "You owe {{ balance }}."})
    assert made.status_code == 201, made.text
    return made.json()["template_id"]


async def test_a_template_id_on_case_routes_is_not_found(client, keys):
    stream = await _template_id(client, keys)
    url = f"/v1/cases/{stream}"
    for method, path, role, body in [
            ("GET", "", "supervisor", None), ("GET", "/plan", "supervisor", None),
            ("GET", "/offers", "agent", None), ("GET", "/complaints", "agent", None),
            ("GET", "/history", "auditor", None), ("GET", "/verify", "auditor", None),
            ("GET", "/contact-permission?channel=phone", "agent", None),
            ("POST", "/notes", "agent", {"text": "x"}),
            ("PUT", "/scores/bureau", "integration",
             {"value": 5, "model_version": "b", "scored_at": ago(minutes=1)})]:
        response = await client.request(method, url + path, json=body, headers=keys[role])
        assert_problem(response, 404, "not_found")


async def test_the_feed_filters_by_every_type_it_shows(client, keys):
    await _template_id(client, keys)
    page = await client.get("/v1/events", params={"types": "TemplateCreated", "limit": 500},
                            headers=keys["admin"])
    assert page.status_code == 200, page.text
    assert page.json()["items"] and {i["type"] for i in page.json()["items"]} == {"TemplateCreated"}


@pytest.mark.parametrize("edge", EDGES)
async def test_times_past_the_calendars_ends_are_refused_by_name(client, keys, edge):
    case = (await client.post("/v1/cases", json=placement(), headers=keys["integration"])).json()
    url = f"/v1/cases/{case['case_id']}"
    refused = await client.post(f"{url}/complaints", headers=keys["agent"], json={
        "category": "collection_conduct", "received_at": edge, "channel": "phone",
        "summary": "x", "pause_collection": False})
    body = assert_problem(refused, 422, "invalid_request")
    assert body["errors"][0]["field"] == "received_at"
    for path, params, role in [("/v1/dialer-list", {"at": edge}, "supervisor"),
                               (url, {"as_of": edge}, "supervisor"),
                               (f"{url}/contact-permission", {"channel": "phone", "at": edge},
                                "agent"),
                               ("/v1/metrics/recovery", {"group_by": "portfolio", "from": edge},
                                "analyst")]:
        response = await client.get(path, params=params, headers=keys[role])
        if path == "/v1/metrics/recovery" and edge.endswith("Z"):
            assert response.status_code == 200, response.text  # a date filter: in range
        else:
            assert_problem(response, 422, "invalid_request")
    history = (await client.get(f"{url}/history", headers=keys["auditor"])).json()["items"]
    assert [i["type"] for i in history] == ["Placed"]


async def test_a_missing_required_query_parameter_is_named(client, keys):
    for path, name, role in [("/v1/letters", "date", "integration"),
                             ("/v1/metrics/complaints", "group_by", "analyst")]:
        body = assert_problem(await client.get(path, headers=keys[role]), 422, "invalid_request")
        assert body["errors"] == [{"field": name, "message": "required"}], body
