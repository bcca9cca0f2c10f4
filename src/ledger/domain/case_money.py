"""The case's balance components, derived in business time (``ledger.domain.allocation``).

Every payment, reversal, interest/fee adjustment and waiver is kept as a ``Movement`` in
business order. A movement dated after all the others (the usual case) is allocated against
the components as they stand; one dated earlier re-derives every allocation from the placed
split, so a payment reported late pays what was owed when it was received, and
``?as_of=`` (which replays the facts that happened by then) never shows a component paid
before it was charged. Each payment's record holds its allocation as it now stands.

The events still carry the allocation the command worked out when it recorded them (in
business time, among the facts known then); state is never taken from it, because a fact
reported later can change it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from ledger.domain.allocation import (
    INTEREST_WAIVER,
    REVERSAL,
    WAIVER,
    Allocated,
    Components,
    Movement,
    Moved,
    allocate,
    move,
)
from ledger.domain.errors import WaiverExceedsBalance
from ledger.domain.money import Allocation
from ledger.domain.timeutil import not_before

if TYPE_CHECKING:
    from ledger.domain.case import Case

WAIVERS = (WAIVER, INTEREST_WAIVER)


def _waived_into_credit(allocated: Allocated) -> int:
    """How much of the waivers found nothing left to forgive."""
    return sum(share.credit for moved, share in allocated.lines if moved.kind in WAIVERS)


class CaseMoney:
    """Mixin of ``Case``: its money movements and the components they leave."""

    movements: tuple[Movement, ...] = ()

    def placed_components(self: Case) -> Components:
        return Components(self.placed_fees, self.placed_interest, self.placed_principal)

    def components_at(self: Case, at: datetime) -> Components:
        """The components from the money facts that happened by ``at`` (business time):
        what an arrangement agreed then waives as interest, or a settlement paid then waives
        as the remainder — not charges dated after it."""
        return allocate(self.placed_components(),
                        [m for m in self.movements if m.at <= at]).components

    def ensure_waivable(self: Case, amount: int, at: datetime, field: str,
                        what: str = "waiver") -> None:
        """A waiver (redress, dispute adjustment) dated ``at`` (the request's ``field``)
        forgives at most the balance net of credit both then and now, and leaves every
        waiver dated after it something to forgive: anything else would be money owed back
        that no payment explains (``WaiverExceedsBalance``). Dated before the placement:
        ``invalid_request``, as any money fact."""
        not_before(at, self.placed_at, field, "case's placed_at")
        limit = min(self.balance, self.components_at(at).balance)
        if amount > limit:
            raise WaiverExceedsBalance(f"{what} exceeds the balance of {max(limit, 0)} "
                                       "(net of credit, when it took effect and now)")
        placed, movements = self.placed_components(), list(self.movements)
        candidate = self._next_movement(at, WAIVER, amount, what)
        if (_waived_into_credit(allocate(placed, [*movements, candidate]))
                > _waived_into_credit(allocate(placed, movements))):
            raise WaiverExceedsBalance(f"{what} would leave a later waiver nothing to forgive "
                                       "(it would become money owed back)")

    def _next_movement(self: Case, at: datetime, kind: str, amount: int, reference: str,
                       *, interest: int = 0, fees: int = 0) -> Movement:
        # The version orders facts of the same business time as the case recorded them.
        return Movement(at, len(self.movements), kind, amount, reference, interest, fees)

    def _would_allocate(self: Case, movement: Movement) -> Allocation:
        """How ``movement`` would be allocated among the facts recorded so far."""
        return self._moved(movement).share

    def _move(self: Case, movement: Movement) -> None:
        """Add ``movement`` and bring the components (and payment allocations) up to date."""
        moved = self._moved(movement)
        self.movements = tuple(moved.ordered)
        self.fees, self.interest, self.principal, self.credit = moved.components
        for external_id, share in moved.paid.items():
            record = self.payments[external_id]
            if record.allocation != share:
                self.payments[external_id] = msgspec.structs.replace(record, allocation=share)

    def _moved(self: Case, movement: Movement) -> Moved:
        # All ``move`` needs of earlier payments is a reversal's own payment's allocation.
        payment = self.payments.get(movement.reference) if movement.kind == REVERSAL else None
        paid = {} if payment is None else {movement.reference: payment.allocation}
        return move(self.placed_components(),
                    Components(self.fees, self.interest, self.principal, self.credit),
                    self.movements, movement, paid)
