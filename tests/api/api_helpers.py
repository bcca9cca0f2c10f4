"""Builders of request bodies shared by the API tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

SECRET = "test-secret-0123456789abcdef"


def placement(ref: str | None = None, **changes: Any) -> dict[str, Any]:
    """A valid placement body (a fresh external_ref unless given)."""
    body: dict[str, Any] = {
        "external_ref": ref or f"CC-{uuid.uuid4().hex[:12]}", "portfolio": "cards-2026q3",
        "product": "credit_card", "currency": "USD", "principal": 250000, "interest": 31250,
        "fees": 3900, "past_due_amount": 45000, "days_past_due": 95,
        "placed_at": ago(days=30),
        "debtor": {"name": "Ana Li", "phones": ["+15551234567"], "emails": ["ana@example.com"],
                   "timezone": "America/Chicago", "jurisdiction": "US-TX"},
    }
    body.update(changes)
    return body


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def payment(external_id: str | None = None, amount: int = 1000, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id or f"PMT-{uuid.uuid4().hex[:10]}", "amount": amount,
        "currency": "USD", "received_at": "2026-01-01T00:00:00Z", "method": "ach",
    }
    body["received_at"] = ago(hours=1)
    body.update(changes)
    return body


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code, and leaks nothing."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text and "Ana Li" not in response.text
    return body


async def walk_pages(get: Any, path: str, limit: int) -> list[list[Any]]:
    """Every page of a list, ``limit`` items a page, following ``next_cursor`` to the end;
    also checks that bad ``limit`` and ``cursor`` values are refused."""
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": "not-a-cursor"}):
        assert_problem(await get(path, params=bad), 422, "invalid_request")
    pages, params = [], {"limit": limit}
    while True:
        response = await get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        params = {"limit": limit, "cursor": body["next_cursor"]}
