"""Concurrent writers to one case never lose an update: over real HTTP, and across processes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
from api_helpers import payment, placement

from ledger.api.placement import new_case
from ledger.api.schemas import times
from ledger.api.schemas.cases import PlaceCase
from ledger.eventstore import EventStore
from ledger.services.cases import Context
import os
from ledger.services.repositories import case_service

MASTER_KEY = os.urandom(32)  # the case repository always seals personal data


async def test_32_concurrent_payment_posts_over_http_are_each_recorded_once(live_server, keys):
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=live_server, timeout=60, limits=limits) as http:
        case = (await http.post("/v1/cases", json=placement(), headers=keys["integration"])).json()
        url = f"/v1/cases/{case['case_id']}/payments"
        bodies = [payment(f"CONC-{i}", amount=100 + i) for i in range(32)]
        responses = await asyncio.gather(*(
            http.post(url, json=b, headers={**keys["integration"], "Idempotency-Key": b["external_id"]})
            for b in bodies
        ))
        view = (await http.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert sorted(r.status_code for r in responses) == [201] * 32
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 34))
    total = sum(b["amount"] for b in bodies)
    assert (view["version"], view["paid_total"], view["balance"]) == (33, total, case["balance"] - total)


async def test_writers_in_different_processes_retry_on_conflicts_and_lose_nothing(pool, tenant):
    # Four services with their own repositories stand for four API processes: no shared
    # in-process lock, so they really collide in the store and must retry.
    services = [case_service(EventStore(pool), MASTER_KEY) for _ in range(4)]
    ctx = Context(tenant, "test", uuid.uuid4())
    body = msgspec.convert(placement(), PlaceCase, dec_hook=times.dec_hook)
    case = new_case(tenant, body, services[0].clock())
    await services[0].place(ctx, case, lambda c, _: (201, b""), lambda e, n: (200, b""))

    def pay(i):
        return lambda c, now: c.receive_payment(external_id=f"X-{i}", amount=10, currency="USD",
                                                received_at=now, method="ach", now=now)

    await asyncio.gather(*(
        services[i % 4].execute(ctx, case.id, pay(i), lambda c, r: (201, b"")) for i in range(32)
    ))
    final = await services[0].load(tenant, case.id)
    assert final.version == 33 and final.payments_total == 320 and len(final.payments) == 32
