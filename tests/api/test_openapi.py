"""The OpenAPI document describes every route completely enough to code against."""

from __future__ import annotations

METHODS = ("get", "post", "put", "patch", "delete")


async def test_every_v1_operation_has_an_id_a_description_and_its_failure_statuses(client):
    document = (await client.get("/schema/openapi.json")).json()
    operations = [
        (path, method, op) for path, item in document["paths"].items()
        for method, op in item.items() if method in METHODS and path.startswith("/v1")
    ]
    assert len(operations) >= 25
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    for path, method, op in operations:
        assert op.get("description"), (method, path)
        assert {"401", "403", "422"} <= op["responses"].keys(), (method, path)
        assert op["security"] == [{"BearerToken": []}]
        if "{case_id}" in path:
            assert "404" in op["responses"], (method, path)
        if method == "post" and "{case_id}" in path:
            assert {"409", "412"} <= op["responses"].keys(), (method, path)
        problem = op["responses"]["403"]["content"]
        assert "application/problem+json" in problem


async def test_main_request_bodies_carry_examples_and_forbid_unknown_fields(client):
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/v1/cases", "/v1/cases/{case_id}/payments", "/v1/cases/{case_id}/contacts",
                 "/v1/cases/{case_id}/promises", "/v1/contact-permissions"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"].get("examples"), path
    assert "application/x-ndjson" in document["paths"]["/v1/cases/import"]["post"]["requestBody"]["content"]
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    for name in ("PlaceCase", "DebtorIn", "ReceivePayment", "RecordContact", "PermissionBatch"):
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name
