"""Message, strategy and webhook rules stated in the OpenAPI document, and held to it.

Each was a schemathesis finding: a request the document allowed was refused.
"""

from __future__ import annotations

import re

from api_helpers import assert_problem


async def _schemas(client) -> dict:
    return (await client.get("/schema/openapi.json")).json()["components"]["schemas"]


def _string_pattern(prop: dict) -> str:
    branches = [prop, *prop.get("oneOf", [])]
    return next(b["pattern"] for b in branches if b.get("type") == "string" and "pattern" in b)


async def test_inbound_addresses_are_documented_and_anything_else_is_refused(client, keys):
    schemas = await _schemas(client)
    number = _string_pattern(schemas["InboundSms"]["properties"]["from"])
    email = _string_pattern(schemas["EmailUnsubscribe"]["properties"]["email"])
    assert re.search(number, "+15551234567") and not re.search(number, "(555) 123-4567")
    assert re.search(email, "a@b.example") and not re.search(email, "a b@c.d")
    for sender in ("5551234567", "+0555123456", "not a number"):
        response = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
            "from": sender, "text": "hello", "received_at": "2026-01-01T00:00:00Z"})
        assert_problem(response, 422, "invalid_request")
    # E.164-shaped but not a possible number for its country: no case holds it, nothing fails.
    response = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
        "from": "+1000000", "text": "STOP", "received_at": "2026-01-01T00:00:00Z"})
    assert response.status_code == 200 and response.json()["opted_out_cases"] == []
    response = await client.post("/v1/inbound/email-unsubscribe", headers=keys["integration"],
                                 json={"email": "a\tb@c.d"})
    assert_problem(response, 422, "invalid_request")


async def test_templates_state_the_opt_out_and_length_per_channel(client, keys):
    branches = (await _schemas(client))["SaveTemplate"]["anyOf"]
    by_channel = {b["properties"]["channel"]["const"]: b for b in branches}
    assert set(by_channel) == {"sms", "email", "letter"}
    assert "opt_out" in by_channel["sms"]["properties"]["body"]["pattern"]
    assert by_channel["email"]["required"] == ["subject"]
    body = "Pay {{opt_out}} now"
    assert re.search(by_channel["sms"]["properties"]["body"]["pattern"], body)
    saved = await client.post("/v1/templates", headers=keys["admin"],
                              json={"name": "fuzz-sms", "channel": "sms", "body": body})
    assert saved.status_code == 201, saved.text


async def test_a_step_names_a_template_exactly_when_it_sends_one(client, keys):
    branches = (await _schemas(client))["StepIn"]["anyOf"]
    assert {"sms", "email", "letter"} == set(branches[0]["properties"]["action"]["enum"])
    assert branches[1]["properties"]["template"]["type"] == "null"
    strategy = {"name": "calls", "portfolios": ["p"], "segments": [{"name": "all", "when": {},
                "steps": [{"day": 0, "action": "call", "template": "x"}]}]}
    response = await client.post("/v1/strategies", json=strategy, headers=keys["supervisor"])
    assert_problem(response, 422, "invalid_request")


async def test_webhook_urls_are_documented_as_absolute_https(client, keys):
    schemas = await _schemas(client)
    for name in ("CreateEndpoint", "ChangeEndpoint"):
        pattern = _string_pattern(schemas[name]["properties"]["url"])
        assert re.search(pattern, "https://hooks.example.com:8443/ledger?x=1")
        for refused in ("http://hooks.example.com/", "https://u:p@example.com/", "/relative",
                        "https://example.com/#frag", "https://a..b/"):
            assert not re.search(pattern, refused), refused
    # A label IDNA cannot encode is a refused host, not a server error.
    response = await client.post("/v1/webhook-endpoints", headers=keys["integration"], json={
        "url": "https://" + "a" * 64 + ".example/", "event_types": ["*"]})
    assert_problem(response, 422, "invalid_request")


async def test_webhook_event_types_are_listed_and_the_wildcard_stands_alone(client, keys):
    schemas = await _schemas(client)
    known, every = schemas["CreateEndpoint"]["properties"]["event_types"]["anyOf"]
    assert "PaymentReceived" in known["items"]["enum"] and every["maxItems"] == 1
    assert {"type": "null"} in schemas["ChangeEndpoint"]["properties"]["event_types"]["anyOf"]
    for types in (["0"], ["*", "PaymentReceived"]):
        response = await client.post("/v1/webhook-endpoints", headers=keys["integration"],
                                     json={"url": "https://hooks.example.com/", "event_types": types})
        assert_problem(response, 422, "invalid_request")


async def test_locales_are_listed_and_a_strategy_is_documented_to_need_a_catch_all(client):
    schemas = await _schemas(client)
    locales = schemas["SaveTemplate"]["properties"]["locale"]["enum"]
    assert "en_US" in locales and "de_DE" in locales and "AA_0000000" not in locales
    contains = schemas["SaveStrategy"]["properties"]["segments"]["contains"]
    assert contains["properties"]["when"]["properties"]["dpd_min"] == {"type": "null"}


async def test_strategy_lists_state_their_bounds(client):
    schemas = await _schemas(client)
    portfolios = schemas["SaveStrategy"]["properties"]["portfolios"]
    assert portfolios["minItems"] == 1 and portfolios["uniqueItems"] is True
    steps = schemas["SegmentIn"]["properties"]["steps"]
    assert (steps["minItems"], steps["maxItems"]) == (1, 50)
    for name in ("SegmentIn", "StepIn", "WhenIn", "ChallengerIn"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["SegmentIn"]["properties"]["name"]["pattern"] == "^[^\\x00]*$"
