"""OPTIONS answers every route with 204 and its methods; CORS only for the listed origins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from ledger.api.app import create_app
from ledger.config import ConfigError, Settings, load_settings

from api_helpers import SECRET

ORIGIN = "https://collections.bank.example"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.fixture(scope="module")
async def cors_client(database_url: str) -> AsyncIterator[AsyncTestClient]:
    settings = Settings(database_url=database_url, secret_key=SECRET, run_projections=False,
                        cors_origins=(ORIGIN, "http://localhost:5173"))
    app = create_app(settings, database_url, derive_master_key_for_tests=True)
    async with AsyncTestClient(app, timeout=60) as client:
        yield client


def _templates(document: dict) -> dict[str, set[str]]:
    return {path: {m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")}
            for path, item in document["paths"].items()}


async def test_options_on_every_documented_route_is_204_with_its_methods(client, case):
    document = (await client.get("/schema/openapi.json")).json()
    routes = _templates(document)
    assert {"/v1/keys", "/v1/metrics/recovery", "/metrics", "/health"} <= routes.keys()
    for template, methods in routes.items():
        path = re.sub(r"\{[^}]+\}", case["case_id"], template)  # a UUID fits every parameter
        response = await client.options(path)
        assert response.status_code == 204, (template, response.status_code, response.text)
        allow = {m.strip() for m in response.headers["allow"].split(",")}
        assert allow == methods | {"OPTIONS"}, template
        assert "access-control-allow-origin" not in response.headers


async def test_options_on_an_unknown_path_is_a_404_problem(client):
    response = await client.options("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_preflight_from_an_unlisted_origin_gets_no_cors_headers(client):
    response = await client.options("/v1/keys", headers=PREFLIGHT)
    assert response.status_code == 204
    assert not [h for h in response.headers if h.startswith("access-control-")]


async def test_a_preflight_from_a_listed_origin_is_allowed_with_methods_and_headers(cors_client):
    response = await cors_client.options("/v1/cases", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {
        "GET", "POST", "OPTIONS"}
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key", "if-match"} <= {
        h.strip() for h in allowed.split(",")}
    other = await cors_client.options("/v1/cases", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert other.status_code == 204 and "access-control-allow-origin" not in other.headers


async def test_responses_to_a_listed_origin_are_readable_errors_included(cors_client):
    refused = await cors_client.get("/v1/keys", headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in refused.headers["access-control-expose-headers"].lower()
    assert "Origin" in refused.headers["vary"]
    health = await cors_client.get("/health", headers={"Origin": "https://evil.example"})
    assert health.status_code == 200 and "access-control-allow-origin" not in health.headers


def test_cors_origins_are_read_from_the_environment_and_checked():
    env = {"LEDGER_CORS_ORIGINS": f"{ORIGIN}, http://localhost:5173/"}
    assert load_settings(env).cors_origins == (ORIGIN, "http://localhost:5173")
    assert load_settings({}).cors_origins == ()
    for bad in ("*", "collections.bank.example", "https://bank.example/app"):
        with pytest.raises(ConfigError, match="LEDGER_CORS_ORIGINS"):
            load_settings({"LEDGER_CORS_ORIGINS": bad})
