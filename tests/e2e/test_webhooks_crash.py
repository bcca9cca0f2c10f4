"""Webhooks across a crash: ``ledger serve`` SIGKILLed while deliveries are in flight, then
restarted — every event still reaches the receiver (at-least-once), each with one stable
``webhook-id``, one case's events in order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx

from processes import (
    LedgerProcess,
    Server,
    bearer,
    ledger_env,
    make_key,
    migrated_database,
    placement,
)
from webhook_fixtures import ReceiverProcess

CASES = 10
PAYMENTS = 12


def _payment(n: int) -> dict[str, Any]:
    return {"external_id": f"P-{n}", "amount": 100 + n, "currency": "USD",
            "received_at": "2026-11-01T00:00:00Z", "method": "ach"}


async def test_a_server_killed_mid_delivery_delivers_everything_after_restart_with_stable_ids(
        make_database: Any) -> None:
    url = await migrated_database(make_database)
    key = await make_key(url, "bank", "integration")
    receiver = ReceiverProcess([], delay_ms=60)
    server = Server(url, LEDGER_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
                    LEDGER_WEBHOOK_BACKOFF_PERCENT="1")
    try:
        server.start()
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(key), timeout=30) as api:
            created = await api.post("/v1/webhook-endpoints", json={
                "url": receiver.url, "event_types": ["Placed", "PaymentReceived"]})
            assert created.status_code == 201, created.text
            cases = []
            for i in range(CASES):
                placed = await api.post("/v1/cases", json=placement(f"CRASH-{i}"))
                assert placed.status_code == 201, placed.text
                cases.append(placed.json()["case_id"])

            async def pay(case_id: str) -> None:
                for n in range(PAYMENTS):
                    paid = await api.post(f"/v1/cases/{case_id}/payments", json=_payment(n))
                    assert paid.status_code == 201, paid.text

            await asyncio.gather(*(pay(c) for c in cases))
        expected = CASES * (1 + PAYMENTS)
        before = len(receiver.received())
        server.kill()  # SIGKILL: deliveries in flight, results unwritten
        assert before < expected, "the kill must land while deliveries are still going on"
        server.start()
        got = await receiver.wait_for(
            lambda g: len({m["webhook_id"] for m in g if m["status"] == 200}) >= expected,
            timeout=60)
    finally:
        server.close()
        receiver.stop()
    ids_per_event: dict[tuple[str, int], set[str]] = defaultdict(set)
    first_order: dict[str, list[int]] = defaultdict(list)
    for message in got:
        body = message["body"]
        event = (body["case_id"], body["version"])
        if not ids_per_event[event]:
            first_order[body["case_id"]].append(body["version"])
        ids_per_event[event].add(message["webhook_id"])
    assert len(ids_per_event) == expected, "every event delivered"
    assert all(len(ids) == 1 for ids in ids_per_event.values()), "webhook-id stable per event"
    for case_id in cases:
        assert first_order[case_id] == list(range(1, PAYMENTS + 2)), "one case in order"
    duplicates = len(got) - expected
    assert duplicates >= 0


async def test_ledger_deliver_delivers_for_a_server_that_runs_no_deliverer(
        make_database: Any) -> None:
    url = await migrated_database(make_database)
    key = await make_key(url, "bank", "integration")
    receiver = ReceiverProcess([])
    server = Server(url, LEDGER_RUN_WEBHOOKS="false", LEDGER_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
    deliverer = LedgerProcess(["deliver"], ledger_env(
        url, LEDGER_WEBHOOK_ALLOW_HOSTS="127.0.0.1", LEDGER_WEBHOOK_SHARDS="2"))
    try:
        server.start()
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(key), timeout=30) as api:
            created = await api.post("/v1/webhook-endpoints", json={
                "url": receiver.url, "event_types": ["Placed"]})
            assert created.status_code == 201, created.text
            for i in range(4):
                placed = await api.post("/v1/cases", json=placement(f"SEP-{i}"))
                assert placed.status_code == 201, placed.text
        await asyncio.sleep(1.0)
        assert receiver.received() == [], "serve with LEDGER_RUN_WEBHOOKS=false sends nothing"
        deliverer.start()
        got = await receiver.wait_for(lambda g: len(g) >= 4, timeout=60)
        assert sorted(m["body"]["external_ref"] for m in got) == [f"SEP-{i}" for i in range(4)]
    finally:
        deliverer.close()
        server.close()
        receiver.stop()
