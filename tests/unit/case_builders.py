"""Builders for domain tests: a placed case, business times, and given/when/then helpers.

Imported by name (``from case_builders import ...``): pytest puts this folder on sys.path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from ledger.domain.case import Case
from ledger.domain.values import Debtor

NAMESPACE = UUID("6f1c9a4e-0000-4000-8000-000000000000")
PLACED_AT = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)  # 09:00 in Chicago


def at(days: float = 0, hours: float = 0) -> datetime:
    """A business time relative to placement."""
    return PLACED_AT + timedelta(days=days, hours=hours)


def place(**overrides: Any) -> Case:
    debtor = overrides.pop(
        "debtor",
        Debtor(
            name="Ana Li", phones=("+15551234567",), emails=("ana@example.com",),
            timezone=overrides.pop("timezone", "America/Chicago"),
            jurisdiction=overrides.pop("jurisdiction", "US-TX"),
        ),
    )
    fields: dict[str, Any] = dict(
        case_id=uuid5(NAMESPACE, overrides.get("external_ref", "CC-000123")),
        tenant_id="bank-1", external_ref="CC-000123", portfolio="cards-2026q3",
        product="credit_card", currency="USD", principal=250000, interest=31250, fees=3900,
        past_due_amount=45000, days_past_due=95, placed_at=PLACED_AT, debtor=debtor,
    )
    fields.update(overrides)
    return Case.place(**fields)


def given(*commands: Callable[[Case], Any], **placement: Any) -> Case:
    """A placed case after ``commands``, with its events already collected (saved)."""
    case = place(**placement)
    for command in commands:
        command(case)
    case.collect_events()
    return case


def then_events(case: Case) -> list[str]:
    """Names of the events the last command(s) triggered."""
    return [type(e).__name__ for e in case.collect_events()]


def replay(events: list[Any]) -> Case:
    case = None
    for e in events:
        case = e.mutate(case)
    assert case is not None
    return case


def pay(external_id: str, amount: int, when: datetime, currency: str = "USD") -> Callable[[Case], Any]:
    return lambda case: case.receive_payment(
        external_id=external_id, amount=amount, currency=currency, received_at=when,
        method="card",
    )

