"""``Ledger-Position`` on writes and ``min_position`` on read-model routes (one database)."""

from __future__ import annotations

import time

import pytest

from api_helpers import assert_problem, payment, placement


async def test_every_successful_write_carries_the_position_of_the_event_it_appended(client, keys):
    placed = await client.post("/v1/cases", json=placement(), headers=keys["integration"])
    case_id = placed.json()["case_id"]
    paid = await client.post(f"/v1/cases/{case_id}/payments", json=payment(amount=5000),
                             headers=keys["integration"])
    assert paid.status_code == 201
    history = (await client.get(f"/v1/cases/{case_id}/history", headers=keys["auditor"])).json()
    positions = {item["type"]: item["position"] for item in history["items"]}
    assert int(placed.headers["Ledger-Position"]) == positions["Placed"]
    assert int(paid.headers["Ledger-Position"]) == positions["PaymentReceived"]


async def test_a_replayed_write_carries_a_position_that_includes_the_first_attempt(client, keys):
    case_id = (await client.post("/v1/cases", json=placement(), headers=keys["integration"])).json()["case_id"]
    headers = {**keys["integration"], "Idempotency-Key": f"pay-{case_id}"}
    body = payment(amount=700)
    first = await client.post(f"/v1/cases/{case_id}/payments", json=body, headers=headers)
    again = await client.post(f"/v1/cases/{case_id}/payments", json=body, headers=headers)
    assert again.headers["Idempotency-Replayed"] == "true"
    assert int(again.headers["Ledger-Position"]) >= int(first.headers["Ledger-Position"])


async def test_reads_and_refusals_carry_no_position(client, keys):
    read = await client.get("/v1/cases?limit=1", headers=keys["supervisor"])
    refused = await client.post("/v1/cases", json=placement(currency="usd"), headers=keys["integration"])
    assert read.status_code == 200 and "Ledger-Position" not in read.headers
    assert refused.status_code == 422 and "Ledger-Position" not in refused.headers


async def test_a_list_read_with_min_position_includes_the_write_it_names(client, keys):
    body = placement()
    placed = await client.post("/v1/cases", json=body, headers=keys["integration"])
    position = placed.headers["Ledger-Position"]
    listed = await client.get(f"/v1/cases?external_ref={body['external_ref']}&min_position={position}",
                              headers=keys["supervisor"])
    assert listed.status_code == 200
    assert [item["case_id"] for item in listed.json()["items"]] == [placed.json()["case_id"]]


@pytest.mark.parametrize("route", ["/v1/cases", "/v1/metrics/recovery?group_by=portfolio",
                                   "/v1/work-queue?agent_id=a-1", "/v1/compliance/breaches",
                                   "/v1/audit", "/v1/dialer-list"])
async def test_metric_and_queue_routes_document_and_accept_min_position(client, keys, route):
    join = "&" if "?" in route else "?"
    response = await client.get(f"{route}{join}min_position=1", headers=keys["admin"])
    assert response.status_code == 200, response.text
    path = route.split("?")[0]
    schema = (await client.get("/schema/openapi.json")).json()
    names = [p["name"] for p in schema["paths"][path if path != "/v1/cases" else "/v1/cases"]["get"]["parameters"]]
    assert "min_position" in names


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "99999999999999999999999"])
async def test_a_malformed_min_position_is_422(client, keys, value):
    response = await client.get(f"/v1/cases?min_position={value}", headers=keys["supervisor"])
    assert_problem(response, 422, "invalid_request")


async def test_a_position_not_yet_written_is_answered_from_the_primary_after_at_most_two_seconds(client, keys):
    started = time.monotonic()
    response = await client.get("/v1/cases?limit=1&min_position=9000000000000", headers=keys["supervisor"])
    assert response.status_code == 200
    assert 1.9 <= time.monotonic() - started < 4


async def test_as_of_position_and_the_audit_trail_speak_the_feed_s_positions(client, keys):
    body = placement()
    placed = await client.post("/v1/cases", json=body, headers=keys["integration"])
    # a refused write may take a position from the store's sequence: a gap in positions
    refused = await client.post("/v1/cases", json={**body, "fees": body["fees"] + 1},
                                headers=keys["integration"])
    assert refused.status_code == 409
    case_id = placed.json()["case_id"]
    paid = await client.post(f"/v1/cases/{case_id}/payments", json=payment(amount=900),
                             headers=keys["integration"])
    position = int(paid.headers["Ledger-Position"])
    for route in ("/v1/cases", "/v1/metrics/recovery?group_by=portfolio", "/v1/audit"):
        join = "&" if "?" in route else "?"
        read = await client.get(f"{route}{join}min_position={position}", headers=keys["admin"])
        assert read.status_code == 200, read.text
        assert read.json()["as_of_position"] >= position, route
    history = (await client.get(f"/v1/cases/{case_id}/history", headers=keys["auditor"])).json()
    trail = (await client.get(f"/v1/audit?case_id={case_id}&min_position={position}",
                              headers=keys["auditor"])).json()
    assert [(i["version"], i["position"]) for i in trail["items"]] == [
        (i["version"], i["position"]) for i in history["items"]]
    assert trail["items"][-1]["position"] == position
