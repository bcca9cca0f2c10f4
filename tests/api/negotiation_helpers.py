"""Shared pieces of the negotiation and complaints API tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api_helpers import placement

POLICY = {
    "settlement_min_pct": [{"dpd_min": 0, "pct": 80}, {"dpd_min": 181, "pct": 50}],
    "max_installments": 12, "min_installment": 2500, "max_term_days": 365,
    "authority": {"agent": {"max_waiver_pct": 10, "min_settlement_pct": 80},
                  "supervisor": {"max_waiver_pct": 50, "min_settlement_pct": 40}},
}
BALANCE = 285150  # the standard placement: 250000 + 31250 + 3900


def soon(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def settlement(amount: int, due_in_days: int = 10) -> dict[str, Any]:
    return {"kind": "settlement", "installments": [{"due_date": soon(due_in_days), "amount": amount}],
            "agreed_at": datetime.now(UTC).isoformat()}


def instalments(count: int, amount: int, **changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC).date() + timedelta(days=5)
    plan = [{"due_date": (start + timedelta(days=28 * k)).isoformat(), "amount": amount}
            for k in range(count)]
    body = {"kind": "installments", "installments": plan, "agreed_at": datetime.now(UTC).isoformat()}
    body.update(changes)
    return body


async def placed_with_policy(client: Any, keys: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A new case in a portfolio of its own that has the standard policy."""
    portfolio = f"neg-{uuid.uuid4().hex[:8]}"
    response = await client.put(f"/v1/policies/{portfolio}", json=POLICY, headers=keys["supervisor"])
    assert response.status_code == 200, response.text
    response = await client.post("/v1/cases", json=placement(portfolio=portfolio, **changes),
                                 headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def caught_up(client: Any) -> None:
    for _ in range(600):
        body = (await client.get("/ready")).json()
        if all(p["positions_behind"] == 0 for p in body["projections"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"read models still behind: {body['projections']}")


def today() -> date:
    return datetime.now(UTC).date()


async def settled(fetch: Any, ready: Any, seconds: float = 20.0) -> Any:
    """``await fetch()`` until ``ready(response)`` holds (read models catch up
    asynchronously; on a shared server another session's open transaction can hold the feed
    back for a while), then return that response; the last one if time runs out."""
    response = await fetch()
    for _ in range(int(seconds / 0.05)):
        if ready(response):
            break
        await asyncio.sleep(0.05)
        response = await fetch()
    return response
