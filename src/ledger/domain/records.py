"""Mutable-by-replacement records the ``Case`` keeps in its state.

They are msgspec Structs so that state compares by value (replay tests) and can be
encoded in snapshots. The aggregate replaces them (``msgspec.structs.replace``) rather than
mutating fields, so a record handed to a caller never changes under its feet.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from ledger.domain.money import Allocation
from ledger.domain.values import (
    ArrangementKind,
    ArrangementStatus,
    DisputeOutcome,
    HoldKind,
    HoldWindow,
    Instalment,
    PaymentMethod,
    PromiseStatus,
)


class PaymentRecord(msgspec.Struct, frozen=True):
    external_id: str
    amount: int
    currency: str
    received_at: datetime
    method: PaymentMethod
    allocation: Allocation
    reversed: bool = False
    reversed_at: datetime | None = None
    reversal_reason: str | None = None

    @property
    def counts(self) -> bool:
        """A reversed payment never counts towards promises, instalments or cure."""
        return not self.reversed


class PromiseRecord(msgspec.Struct, frozen=True):
    promise_id: UUID
    amount: int
    due_date: date
    made_at: datetime
    deadline: datetime
    agent_id: str | None
    status: PromiseStatus = PromiseStatus.PENDING


class ArrangementRecord(msgspec.Struct, frozen=True):
    arrangement_id: UUID
    kind: ArrangementKind
    instalments: tuple[Instalment, ...]
    deadlines: tuple[datetime, ...]
    waive_interest: bool
    agreed_at: datetime
    grace_days: int
    status: ArrangementStatus = ArrangementStatus.ACTIVE
    missed_instalment: int | None = None

    @property
    def total(self) -> int:
        return sum(instalment.amount for instalment in self.instalments)


class DisputeRecord(msgspec.Struct, frozen=True):
    dispute_id: UUID
    reason: str
    opened_at: datetime
    resolved_at: datetime | None = None
    outcome: DisputeOutcome | None = None
    adjustment: int | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class HoldRecord(msgspec.Struct, frozen=True):
    hold_id: UUID
    kind: HoldKind
    starts_at: datetime
    until: datetime | None = None
    released_at: datetime | None = None

    @property
    def window(self) -> HoldWindow:
        """The period the hold blocks, cut short by a release."""
        ends = self.until
        if self.released_at is not None:
            ends = self.released_at if ends is None else min(ends, self.released_at)
        return HoldWindow(self.hold_id, self.kind, self.starts_at, ends)
