"""Placement, reads by id and by reference, ETags and NDJSON import."""

from __future__ import annotations

import uuid

import msgspec
from api_helpers import assert_problem, placement


async def test_placing_an_account_returns_the_case_view_with_its_balance(client, keys):
    response = await client.post("/v1/cases", json=placement("CC-1"), headers=keys["integration"])
    assert response.status_code == 201
    view = response.json()
    assert view["version"] == 1 and view["status"] == "active"
    assert view["placed_balance"] == view["balance"] == 250000 + 31250 + 3900
    assert view["dpd_bucket"] == "121-150"  # 95 days at placement, placed 30 days ago


async def test_the_same_placement_again_is_200_with_the_same_case(client, keys):
    body = placement()
    first = await client.post("/v1/cases", json=body, headers=keys["integration"])
    again = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["case_id"] == first.json()["case_id"]


async def test_the_same_external_ref_with_other_details_is_a_duplicate(client, keys):
    body = placement()
    await client.post("/v1/cases", json=body, headers=keys["integration"])
    response = await client.post(
        "/v1/cases", json={**body, "principal": 240000}, headers=keys["integration"]
    )
    assert_problem(response, 409, "duplicate_external_ref")


async def test_an_unknown_time_zone_or_currency_is_refused(client, keys):
    bad_zone = placement()
    bad_zone["debtor"] = {**bad_zone["debtor"], "timezone": "Mars/Olympus"}
    response = await client.post("/v1/cases", json=bad_zone, headers=keys["integration"])
    assert assert_problem(response, 422, "invalid_request")["errors"][0]["field"] == "debtor.timezone"
    response = await client.post(
        "/v1/cases", json=placement(currency="XYZ"), headers=keys["integration"]
    )
    assert_problem(response, 422, "invalid_request")


async def test_a_placement_dated_in_the_future_is_refused(client, keys):
    response = await client.post(
        "/v1/cases", json=placement(placed_at="2999-01-01T00:00:00Z"), headers=keys["integration"]
    )
    assert_problem(response, 422, "time_in_future")


async def test_a_case_reads_by_id_and_by_ref_with_its_version_as_etag(client, keys, case):
    by_id = await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])
    by_ref = await client.get(f"/v1/cases/by-ref/{case['external_ref']}", headers=keys["auditor"])
    assert by_id.status_code == by_ref.status_code == 200
    assert by_id.json()["case_id"] == by_ref.json()["case_id"] == case["case_id"]
    assert by_id.headers["etag"] == '"1"'


async def test_an_unknown_case_is_404(client, keys):
    response = await client.get(f"/v1/cases/{uuid.uuid4()}", headers=keys["agent"])
    assert_problem(response, 404, "not_found")
    response = await client.get("/v1/cases/by-ref/NOPE-1", headers=keys["agent"])
    assert_problem(response, 404, "not_found")


async def test_an_import_stores_good_lines_and_reports_bad_ones(client, keys):
    good = [placement() for _ in range(5)]
    lines = [msgspec.json.encode(body) for body in good]
    lines.insert(1, b"{not json")
    lines.insert(3, msgspec.json.encode(placement(currency="usd")))
    lines.append(lines[0])  # an identical repeat in the same file
    lines.append(msgspec.json.encode({**good[2], "fees": 1}))  # same ref, other details
    response = await client.post(
        "/v1/cases/import", content=b"\n".join(lines) + b"\n",
        headers={**keys["integration"], "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 5 and result["duplicates"] == 1
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [
        (2, "invalid_request"), (4, "invalid_request"), (9, "duplicate_external_ref"),
    ]
    stored = await client.get(f"/v1/cases/by-ref/{good[4]['external_ref']}", headers=keys["agent"])
    assert stored.status_code == 200


async def test_an_import_ignores_a_byte_order_mark_and_blank_lines(client, keys):
    first, second = placement(), placement()
    body = (b"\xef\xbb\xbf" + msgspec.json.encode(first) + b"\r\n\r\n   \r\n"
            + msgspec.json.encode(second) + b"\r\n{broken\r\n")
    response = await client.post(
        "/v1/cases/import", content=body,
        headers={**keys["integration"], "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [(5, "invalid_request")]


async def test_importing_the_same_file_twice_counts_duplicates(client, keys):
    body = b"".join(msgspec.json.encode(placement()) + b"\n" for _ in range(3))
    headers = {**keys["integration"], "Content-Type": "application/x-ndjson"}
    first = (await client.post("/v1/cases/import", content=body, headers=headers)).json()
    second = (await client.post("/v1/cases/import", content=body, headers=headers)).json()
    assert (first["accepted"], second["accepted"], second["duplicates"]) == (3, 0, 3)
