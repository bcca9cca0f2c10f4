"""Key management, rate limits, and problem+json for every kind of failure."""

from __future__ import annotations

import argparse
import uuid

from api_helpers import SECRET, assert_problem, placement


from ledger.cli import _keys_command


async def test_an_admin_creates_lists_and_revokes_keys_of_its_tenant(client, keys, tenant):
    created = await client.post("/v1/keys", json={"role": "agent", "label": "dialer"}, headers=keys["admin"])
    assert created.status_code == 201
    new = created.json()
    assert new["tenant_id"] == tenant and new["key"].startswith("lk_")
    headers = {"Authorization": f"Bearer {new['key']}"}
    assert (await client.get("/v1/keys", headers=keys["admin"])).text.count("lk_") == 0
    assert (await client.get(f"/v1/cases/{uuid.uuid4()}", headers=headers)).status_code == 404
    revoked = await client.post(f"/v1/keys/{new['key_id']}/revocation", headers=keys["admin"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await client.get(f"/v1/cases/{uuid.uuid4()}", headers=headers), 401, "unauthorized")


async def test_an_admin_cannot_revoke_another_tenants_key(client, keys, make_key):
    other = await client.post("/v1/keys", json={"role": "agent"}, headers=await make_key("t-else", "admin"))
    response = await client.post(f"/v1/keys/{other.json()['key_id']}/revocation", headers=keys["admin"])
    assert_problem(response, 404, "not_found")


async def test_a_key_over_its_rate_is_429_with_retry_after(client, tenant, make_key):
    headers = await make_key(tenant, "agent", rate_limit=1)
    statuses = [(await client.get(f"/v1/cases/{uuid.uuid4()}", headers=headers)).status_code for _ in range(4)]
    assert statuses[:2] == [404, 404] and statuses[-1] == 429


async def test_the_cli_creates_lists_and_revokes_keys(database_url, capsys):
    def args(**values):
        return argparse.Namespace(**{"label": None, "rate_limit": None, "tenant": None, **values})

    await _keys_command(database_url, SECRET.encode(), args(keys_command="create", tenant="cli-t", role="auditor"))
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("lk_")
    await _keys_command(database_url, SECRET.encode(), args(keys_command="list", tenant="cli-t"))
    listing = capsys.readouterr().out
    assert "auditor" in listing and printed not in listing
    key_id = listing.split("\t")[0]
    assert await _keys_command(database_url, SECRET.encode(), args(keys_command="revoke", key_id=key_id)) == 0
    assert await _keys_command(database_url, SECRET.encode(), args(keys_command="revoke", key_id="nope")) == 1


async def test_unknown_routes_and_wrong_methods_are_problems(client, keys):
    assert_problem(await client.get("/v1/nowhere", headers=keys["agent"]), 404, "not_found")
    assert_problem(await client.get("/v1/cases/not-a-uuid", headers=keys["agent"]), 404, "not_found")
    assert_problem(await client.delete("/v1/cases", headers=keys["admin"]), 405, "method_not_allowed")


async def test_bad_bodies_are_422_problems_naming_the_field(client, keys):
    headers = keys["integration"]
    assert_problem(await client.post("/v1/cases", content=b"{oops", headers=headers), 422, "invalid_request")
    unknown = assert_problem(await client.post("/v1/cases", json={**placement(), "colour": "red"}, headers=headers),
                             422, "invalid_request")
    assert unknown["errors"][0]["field"] == "colour"
    missing = placement()
    del missing["currency"]
    body = assert_problem(await client.post("/v1/cases", json=missing, headers=headers), 422, "invalid_request")
    assert body["errors"][0]["field"] == "currency"
    negative = assert_problem(await client.post("/v1/cases", json=placement(fees=-1), headers=headers),
                              422, "invalid_request")
    assert negative["errors"][0]["field"] == "fees"
    assert_problem(await client.post("/v1/cases", json=[1, 2], headers=headers), 422, "invalid_request")


async def test_an_oversized_body_is_413(client, keys):
    response = await client.post("/v1/cases", content=b" " * (2 * 1024 * 1024), headers=keys["integration"])
    assert_problem(response, 413, "payload_too_large")


async def test_every_response_carries_a_request_id(client, keys):
    ok = await client.get("/health")
    missing = await client.get("/v1/nowhere")
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]
