"""Allocation in business time: how a case's money movements split over its components.

Payments pay fees, then interest, then principal (``allocate_payment``); waivers forgive
interest, then fees, then principal (``allocate_waiver``); interest and fee adjustments add to
their component; a reversal restores exactly what its payment paid. Each movement is
allocated against the components as they stood *when it happened*, so the order is business
time (ties by version, the order the case recorded them), whatever order the facts were
reported in: a payment dated before an interest posting never pays that interest, even when
the posting was recorded first.

Two rules keep every figure whole when facts arrive out of order:

* A reversal takes effect no earlier than its payment.
* A waiver dated before a payment reported later may forgive more than was still owed once
  that payment is in place (the interest an arrangement waives: more than the interest still
  owed, for it forgives interest only); the excess is ``credit`` (owed back to the debtor),
  exactly as a payment beyond everything owed is. So for every order,
  ``balance = placed − payments + reversals − waivers + charges`` and no component is negative.

Pure functions over plain values; the aggregate, the cases projection and the statement all
derive their figures here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

import msgspec

from ledger.domain.money import Allocation, allocate_payment, allocate_waiver

PAYMENT, REVERSAL, CHARGE, WAIVER = "payment", "reversal", "charge", "waiver"
INTEREST_WAIVER = "interest_waiver"
"""The interest an arrangement waives: it forgives interest only."""
INTEREST_WAIVED_BY_ARRANGEMENT = "interest waived by arrangement"
"""The reason of that waiver's ``BalanceAdjusted`` (set by the domain, never by a caller)."""
NOTHING = Allocation()


def waiver_kind(reason: str) -> str:
    return INTEREST_WAIVER if reason == INTEREST_WAIVED_BY_ARRANGEMENT else WAIVER


class Movement(msgspec.Struct, frozen=True, array_like=True):
    """One fact that moves the balance.

    ``reference`` is the payment's ``external_id`` (payments, reversals) or the reason
    (charges, waivers); ``amount`` is what the fact says (a reversal: its payment's amount);
    a charge's increase is ``interest`` and ``fees``.
    """

    at: datetime
    version: int
    kind: str
    amount: int
    reference: str
    interest: int = 0
    fees: int = 0


class Components(NamedTuple):
    fees: int
    interest: int
    principal: int
    credit: int = 0

    @property
    def owed(self) -> int:
        return self.fees + self.interest + self.principal

    @property
    def balance(self) -> int:
        return self.owed - self.credit


class Allocated(NamedTuple):
    """Every movement in business order with its allocation, and the components after all."""

    lines: list[tuple[Movement, Allocation]]
    components: Components
    paid: dict[str, Allocation]
    """Each payment's allocation, by ``external_id`` (reversed ones included)."""


def insert(ordered: list[Movement], movement: Movement) -> tuple[list[Movement], bool]:
    """``ordered`` (in business order) with ``movement`` added, and whether it went last —
    the common case, where the components so far stand and only it needs allocating."""
    if not ordered or movement.at >= ordered[-1].at:  # after all (its version is the highest)
        return [*ordered, movement], True
    return business_order([*ordered, movement]), False


def business_order(movements: Iterable[Movement]) -> list[Movement]:
    """By business time, ties by version; a reversal never before its payment."""
    movements = list(movements)
    if not any(m.kind == REVERSAL for m in movements):
        return sorted(movements, key=lambda m: (m.at, m.version))
    paid_at = {m.reference: m for m in movements if m.kind == PAYMENT}
    return sorted(movements, key=lambda m: _effective(m, paid_at))


def _effective(movement: Movement,
               paid_at: dict[str, Movement]) -> tuple[datetime, int, int]:
    payment = paid_at.get(movement.reference) if movement.kind == REVERSAL else None
    if payment is not None and (payment.at, payment.version) > (movement.at, movement.version):
        return payment.at, payment.version, 1  # right after its payment
    return movement.at, movement.version, 0


def step(components: Components, movement: Movement,
         paid: dict[str, Allocation]) -> tuple[Allocation, Components]:
    """``movement``'s allocation against ``components`` and the components after it;
    ``paid`` holds the allocations of the payments before it (a payment adds its own)."""
    fees, interest, principal, credit = components
    kind = movement.kind
    if kind == PAYMENT:
        share = allocate_payment(movement.amount, fees, interest, principal)
        paid[movement.reference] = share
    elif kind == REVERSAL:
        # A reversal whose payment is not in effect (``as_of`` before it) restores nothing.
        share = paid.get(movement.reference, NOTHING)
        return share, Components(fees + share.fees, interest + share.interest,
                                 principal + share.principal, credit - share.credit)
    elif kind == WAIVER:
        forgiven = min(movement.amount, fees + interest + principal)
        part = allocate_waiver(forgiven, fees, interest, principal)
        share = Allocation(part.fees, part.interest, part.principal, movement.amount - forgiven)
    elif kind == INTEREST_WAIVER:
        forgiven = min(movement.amount, interest)
        share = Allocation(interest=forgiven, credit=movement.amount - forgiven)
    else:  # a charge: interest or fees added
        share = Allocation(fees=movement.fees, interest=movement.interest)
        return share, Components(fees + share.fees, interest + share.interest, principal, credit)
    return share, Components(fees - share.fees, interest - share.interest,
                             principal - share.principal, credit + share.credit)


def allocate(placed: Components, movements: Iterable[Movement]) -> Allocated:
    """Allocate ``movements`` in business order, starting from the ``placed`` components."""
    components = placed
    paid: dict[str, Allocation] = {}
    lines: list[tuple[Movement, Allocation]] = []
    for movement in business_order(movements):
        share, components = step(components, movement, paid)
        lines.append((movement, share))
    return Allocated(lines, components, paid)


class Moved(NamedTuple):
    """What adding one movement did: the movements in business order, its own allocation,
    the components after them all, and the payments whose allocation it set or changed."""

    ordered: list[Movement]
    share: Allocation
    components: Components
    paid: dict[str, Allocation]


def move(placed: Components, current: Components, ordered: Sequence[Movement],
         movement: Movement, paid: Mapping[str, Allocation] | None) -> Moved:
    """Add ``movement`` to ``ordered`` (in business order, leaving ``current``). One dated
    after all the others — the usual case — is allocated against ``current``; one dated
    earlier allocates everything again from ``placed``. ``paid``: the allocations of the
    payments so far, when the caller keeps them (a reversal after all others needs its
    payment's; without them it allocates everything again)."""
    ordered, last = insert(list(ordered), movement)
    if last and (movement.kind != REVERSAL or paid is not None):
        known = {} if paid is None or movement.reference not in paid else {
            movement.reference: paid[movement.reference]}
        share, components = step(current, movement, known)
        return Moved(ordered, share, components,
                     {movement.reference: share} if movement.kind == PAYMENT else {})
    allocated = allocate(placed, ordered)
    share = next(share for moved, share in allocated.lines if moved is movement)
    return Moved(ordered, share, allocated.components, allocated.paid)


def signed_change(movement: Movement, share: Allocation) -> int:
    """How much ``movement`` (allocated as ``share``) moved the balance."""
    if movement.kind in (PAYMENT, WAIVER, INTEREST_WAIVER):
        return -share.total
    return share.total
