"""The event shape every benchmark stores: a recorded payment-like fact (~200 bytes of JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

MOMENT = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)


class BenchCase(Aggregate):
    """A case that receives payments; plain attributes so every codec can carry them."""

    @event("Placed")
    def __init__(self, external_ref: str, currency: str, principal: int) -> None:
        self.external_ref = external_ref
        self.currency = currency
        self.balance = principal
        self.payments: list[UUID] = []

    @event("PaymentReceived")
    def receive(self, amount: int, received_at: datetime, external_id: UUID, method: str,
                note: str) -> None:
        self.balance -= amount
        self.payments.append(external_id)


def case_with_payments(events: int) -> BenchCase:
    """A case with ``events`` events in total (placement plus payments), not yet saved."""
    case = BenchCase(external_ref="CC-000123", currency="USD", principal=10**9)
    for _ in range(events - 1):
        case.receive(1250, MOMENT, uuid4(), "card", "monthly instalment via portal")
    return case


def sample_payment_event() -> object:
    """One PaymentReceived event (for encoding a representative payload)."""
    case = case_with_payments(2)
    return case.collect_events()[-1]
