"""``GET /metrics``: Prometheus text with the series operators alert on, after real traffic."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledger.eventstore import ConcurrencyConflict, EventStore
from ledger.observability import instrument_store
from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.services.cases import case_id_for
import os
from ledger.services.repositories import case_service

from api_helpers import payment, placement


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name → [(labels, value)], parsed by prometheus-client's own parser."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return sum(v for got, v in found.get(name, []) if labels.items() <= got.items())


async def scrape(client) -> dict:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_expose_request_append_replay_projection_scheduler_and_pool_series(
        client, keys, case):
    before = await scrape(client)
    url = f"/v1/cases/{case['case_id']}/payments"
    headers = {**keys["integration"], "Idempotency-Key": f"pay-{uuid.uuid4()}"}
    body = payment(amount=1500)
    assert (await client.post(url, json=body, headers=headers)).status_code == 201
    replay = await client.post(url, json=body, headers=headers)
    assert replay.headers["idempotency-replayed"] == "true"
    assert (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).status_code == 200

    after = await scrape(client)
    route = "/v1/cases/{case_id}/payments"
    # Request rate and latency by route template (never by concrete path: ids would explode it).
    assert value(after, "ledger_http_requests_total", path=route, method="POST") >= 2
    assert value(after, "ledger_http_request_duration_seconds_count", path=route) >= 2
    assert any(s for s in after["ledger_http_request_duration_seconds_bucket"]
               if s[0]["path"] == "/v1/cases/{case_id}" and s[0]["le"] == "0.1")
    assert not any(case["case_id"] in labels.get("path", "")
                   for labels, _ in after["ledger_http_requests_total"])
    # Appends: the payment was stored once, the replay appended nothing.
    assert value(after, "ledger_appends_total", outcome="stored") >= \
        value(before, "ledger_appends_total", outcome="stored") + 1
    assert value(after, "ledger_events_appended_total") > value(before, "ledger_events_appended_total")
    assert value(after, "ledger_idempotent_replays_total", route=route) == \
        value(before, "ledger_idempotent_replays_total", route=route) + 1
    assert "ledger_append_conflicts_total" in after
    # Projection lag for every read model, scheduler passes, pool use.
    projections = {labels["projection"] for labels, _ in after["ledger_projection_lag_events"]}
    assert {"cases", "audit"} <= projections, projections
    assert "ledger_projection_lag_seconds" in after
    assert value(after, "ledger_deadline_runs_total", outcome="ok") >= 1
    assert value(after, "ledger_db_pool_connections", state="max") == 20
    assert "ledger_db_pool_connections" in after and any(
        labels["state"] == "in_use" for labels, _ in after["ledger_db_pool_connections"])


async def test_a_conflicting_append_is_counted(client, pool, tenant):
    store = instrument_store(EventStore(pool))
    master_key = os.urandom(32)
    service = case_service(store, master_key)
    placed_at = datetime.now(UTC) - timedelta(days=3)
    case = Case.place(
        case_id=case_id_for(tenant, "CONFLICT-1"), tenant_id=tenant, external_ref="CONFLICT-1",
        portfolio="p", product="credit_card", currency="USD", principal=1000, interest=0, fees=0,
        past_due_amount=100, days_past_due=40, placed_at=placed_at,
        debtor=Debtor(timezone="UTC", jurisdiction="US-TX"))
    await service.repository.save(case, tenant_id=tenant)
    # Two writers, each with its own repository (as two processes would be).
    other = case_service(store, master_key)
    first = await service.load(tenant, case.id)
    second = await other.load(tenant, case.id)
    for copy in (first, second):
        copy.add_note(text="racing", occurred_at=placed_at)
    before = samples((await client.get("/metrics")).text)
    await service.repository.save(first, tenant_id=tenant)
    with pytest.raises(ConcurrencyConflict):
        await other.repository.save(second, tenant_id=tenant)
    after = samples((await client.get("/metrics")).text)
    assert value(after, "ledger_append_conflicts_total") == \
        value(before, "ledger_append_conflicts_total") + 1
    assert value(after, "ledger_appends_total", outcome="conflict") >= 1


async def test_metrics_need_no_key_and_are_documented_as_text(client):
    response = await client.get("/metrics")
    assert response.status_code == 200 and re.search(r"^# TYPE ledger_", response.text, re.M)
    document = (await client.get("/schema/openapi.json")).json()
    content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert len(content) == 1 and next(iter(content)).startswith("text/plain")
