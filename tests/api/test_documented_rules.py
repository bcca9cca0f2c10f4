"""The OpenAPI document states the rules the code enforces, and requests that follow it pass.

Each case here was a schemathesis finding: a request the document allowed was refused (or one
it forbade was accepted).
"""

from __future__ import annotations

import json

from api_helpers import assert_problem, placement


async def _schemas(client) -> dict:
    return (await client.get("/schema/openapi.json")).json()["components"]["schemas"]


async def test_currencies_and_time_zones_are_listed_and_nothing_else_is_accepted(client, keys):
    schemas = await _schemas(client)
    currency = schemas["PlaceCase"]["properties"]["currency"]
    assert "USD" in currency["enum"] and "XAU" in currency["enum"] and "AAA" not in currency["enum"]
    zone = schemas["DebtorIn"]["properties"]["timezone"]
    assert "America/Chicago" in zone["enum"] and "Mars/Olympus" not in zone["enum"]
    body = placement(currency="AAA")
    assert_problem(await client.post("/v1/cases", json=body, headers=keys["integration"]),
                   422, "invalid_request")


async def test_case_list_filters_list_their_values(client, keys):
    document = (await client.get("/schema/openapi.json")).json()
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/v1/cases"]["get"]["parameters"]}
    assert "promised" in str(parameters["status"]) and "180+" in str(parameters["dpd_bucket"])
    response = await client.get("/v1/cases", params={"dpd_bucket": ""}, headers=keys["admin"])
    assert_problem(response, 422, "invalid_request")


async def test_a_reversed_metrics_period_is_an_empty_report_not_an_error(client, keys):
    response = await client.get("/v1/metrics/promises", headers=keys["admin"], params={
        "group_by": "agent", "from": "2026-03-01", "to": "2026-02-01"})
    assert response.status_code == 200 and response.json()["items"] == []


async def test_months_are_documented_as_the_years_the_code_can_compute(client, keys):
    document = (await client.get("/schema/openapi.json")).json()
    cohort = next(p for p in document["paths"]["/v1/metrics/liquidation"]["get"]["parameters"]
                  if p["name"] == "cohort")
    assert cohort["schema"]["pattern"].startswith("^(19|2")
    for month in ("0000-01", "9999-12"):
        response = await client.get("/v1/metrics/liquidation", params={"cohort": month},
                                    headers=keys["admin"])
        assert_problem(response, 422, "invalid_request")


async def test_cross_field_rules_of_keys_assignment_and_agent_facts_are_in_the_document(client):
    schemas = await _schemas(client)
    assert schemas["Assign"]["oneOf"] and schemas["CreateKey"]["anyOf"]
    for name in ("RecordContact", "MakePromise"):
        assert "agent_id" in schemas[name]["required"]
        assert schemas[name]["properties"]["agent_id"]["type"] == "string"


async def test_an_admin_key_cannot_revoke_itself_but_can_revoke_another(client, keys):
    own_id = keys["admin"]["Authorization"].split("_")[1]
    response = await client.post(f"/v1/keys/{own_id}/revocation", headers=keys["admin"])
    assert_problem(response, 409, "own_key")
    assert (await client.get("/v1/keys", headers=keys["admin"])).status_code == 200
    other_id = keys["agent"]["Authorization"].split("_")[1]
    response = await client.post(f"/v1/keys/{other_id}/revocation", headers=keys["admin"])
    assert response.status_code == 200 and response.json()["revoked_at"]


async def test_an_empty_import_is_refused_and_text_plain_is_accepted(client, keys):
    empty = await client.post("/v1/cases/import", content=b"", headers={
        **keys["integration"], "Content-Type": "application/x-ndjson"})
    assert_problem(empty, 422, "invalid_request")
    line = json.dumps(placement()).encode() + b"\n"
    plain = await client.post("/v1/cases/import", content=line, headers={
        **keys["integration"], "Content-Type": "text/plain"})
    assert plain.status_code == 200 and plain.json()["accepted"] == 1


async def test_optional_bounds_list_item_rules_and_no_nul_are_documented(client, keys, case):
    schemas = await _schemas(client)
    assert schemas["ResolveDispute"]["properties"]["adjustment"]["exclusiveMinimum"] == 0
    assert schemas["RecordContact"]["properties"]["duration_seconds"]["minimum"] == 0
    assert schemas["DebtorIn"]["properties"]["phones"]["items"]["pattern"]
    assert schemas["AddNote"]["properties"]["text"]["pattern"] == "^[^\\x00]*$"
    response = await client.post(f"/v1/cases/{case['case_id']}/notes", json={"text": "a\x00b"},
                                 headers=keys["agent"])
    assert_problem(response, 422, "invalid_request")
