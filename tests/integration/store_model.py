"""A small aggregate used by the event store tests (independent of the real domain)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event


class Level(StrEnum):
    LOW = "low"
    HIGH = "high"


class Money(msgspec.Struct, frozen=True):
    amount: int
    currency: str


class Contact(msgspec.Struct, frozen=True):
    phones: tuple[str, ...]
    limit: Money | None = None


class Account(Aggregate):
    """Every attribute kind the domain may use, to prove the codec round-trips them."""

    @event("Opened")
    def __init__(self, owner: str, limit: Money, level: Level, opened_on: date,
                 tags: tuple[str, ...], ref: UUID, counts: dict[str, int],
                 contact: Contact, due: datetime | None = None,
                 flags: list[bool] | None = None) -> None:
        self.owner = owner
        self.limit = limit
        self.level = level
        self.opened_on = opened_on
        self.tags = tags
        self.ref = ref
        self.counts = counts
        self.contact = contact
        self.due = due
        self.balance = 0
        self.history: list[int] = []
        self.refs_by_amount: dict[int, UUID] = {}

    @event("Deposited")
    def deposit(self, amount: int, at: datetime, reference: UUID) -> None:
        self.balance += amount
        self.history.append(amount)
        self.refs_by_amount[amount] = reference

    class Renamed(Aggregate.Event):
        """Version 2 added ``reason``; version 1 rows are upcast on read."""

        class_version = 2
        owner: str
        reason: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = "unknown (recorded before reasons)"

        def apply(self, aggregate: Any) -> None:
            aggregate.owner = self.owner
            aggregate.rename_reason = self.reason

    def rename(self, owner: str, reason: str) -> None:
        self.trigger_event(self.Renamed, owner=owner, reason=reason)


def open_account(owner: str = "Ana") -> Account:
    from datetime import UTC
    from uuid import uuid4

    return Account(owner=owner, limit=Money(250_000, "USD"), level=Level.HIGH,
                   opened_on=date(2026, 9, 1), tags=("cards", "q3"), ref=uuid4(),
                   counts={"calls": 3}, contact=Contact(("+15551234567",), Money(5, "EUR")),
                   due=datetime(2026, 12, 1, 9, 30, tzinfo=UTC), flags=[True, False])
