"""Logs are JSON lines with the request's ids, route, status and latency — and nothing personal.

The test drives requests that carry debtor data, keys and bodies (placement, payment, a
validation failure, a bad key) and then reads every line the process logged meanwhile.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from ledger.observability import logs
from ledger.observability.logs import json_formatter

from api_helpers import payment, placement

DEBTOR = {"name": "Zoë Quartermain-Okafor", "phones": ["+15559870123"],
          "emails": ["zoe.quartermain@example.org"], "address": "12 Juniper Lane, Austin TX",
          "timezone": "America/Chicago", "jurisdiction": "US-TX"}


@pytest.fixture
def log_lines(monkeypatch) -> Iterator[io.StringIO]:
    """Everything logged while the test runs, rendered by the production JSON formatter
    (library records) or written by the request log itself."""
    buffer = io.StringIO()
    monkeypatch.setattr(logs, "sink", buffer)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(json_formatter())
    # The test's own HTTP client logs the URLs it calls; only the server's lines are judged.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_request_lines_are_json_with_ids_route_status_latency_and_no_personal_data(
        client, keys, log_lines):
    body = placement(debtor=DEBTOR, external_ref=f"LOG-{uuid.uuid4().hex[:8]}")
    placed = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert placed.status_code == 201
    case_id = placed.json()["case_id"]
    pay = await client.post(f"/v1/cases/{case_id}/payments", json=payment(amount=987_654_321),
                            headers={**keys["integration"], "Idempotency-Key": "log-pay"})
    assert pay.status_code == 201
    bad = await client.post("/v1/cases", headers=keys["integration"],
                            json={**body, "debtor": {**DEBTOR, "timezone": "Mars/Olympus"}})
    assert bad.status_code in (409, 422)
    unknown_key = "lk_deadbeef_" + "s3cr3t" * 6
    denied = await client.get(f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {unknown_key}"})
    assert denied.status_code == 401
    note = await client.post(f"/v1/cases/{case_id}/notes", headers=keys["agent"],
                             json={"text": "debtor said call back after payday"})
    assert note.status_code == 201

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 5
    placement_line = next(line for line in requests if line["route"] == "/v1/cases"
                          and line["status"] == 201)
    assert placement_line["request_id"] == placed.headers["x-request-id"]
    assert placement_line["tenant"] and placement_line["key_id"]
    assert placement_line["method"] == "POST" and placement_line["latency_ms"] >= 0
    assert placement_line["level"] == "info" and placement_line["time"].endswith("Z")
    assert any(line["status"] == 401 and line["tenant"] is None for line in requests), [(l["status"], l["route"], l["tenant"]) for l in requests]

    forbidden = [*DEBTOR["phones"], *DEBTOR["emails"], DEBTOR["name"], "Quartermain", "Juniper",
                 "payday", "Mars/Olympus", unknown_key, "Bearer", "lk_", "987654321", case_id,
                 body["external_ref"]]
    for secret_value in [*forbidden, *(h["Authorization"].split()[-1] for h in keys.values())]:
        assert secret_value not in text, f"{secret_value!r} leaked into the logs"
