"""Builders of request bodies shared by the API tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


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
