"""The cases projection's own fold of one case: what the read models need, no personal data.

``CaseFacts`` is kept per case (msgpack in ``rm_cases.facts``) so that a batch can bring a
case up to date from its stored facts plus the new events, without replaying the stream.
It holds the inputs of every derived figure, in particular those that business time can
change after the fact: right-party contacts and assignments (payment attribution),
payments and reversals (cure date, promise coverage). A late backdated fact therefore
re-derives the affected payments instead of patching totals.

Balance components are allocated in business time from the money movements, as the
aggregate's are (``ledger.domain.allocation``), so they are equal.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from ledger.domain.allocation import Movement

ATTRIBUTION_WINDOW = timedelta(days=30)
NO_CHANNEL = "none"
UNASSIGNED = "unassigned"


class PaymentFact(msgspec.Struct, array_like=True):
    external_id: str
    amount: int
    received_at: datetime
    reversed: bool = False

    @property
    def counts(self) -> bool:
        """Reversed payments never count (the domain's rule for cure and promises)."""
        return not self.reversed


class PromiseFact(msgspec.Struct, array_like=True):
    promise_id: UUID
    amount: int
    made_at: datetime
    due_date: date
    deadline: datetime
    agent: str | None
    status: str = "pending"


class ArrangementFact(msgspec.Struct, array_like=True):
    arrangement_id: UUID
    agreed_at: datetime
    owed_by: list[int]
    """Cumulative amount due by each instalment."""
    deadlines: list[datetime]
    status: str = "active"


class HoldFact(msgspec.Struct, array_like=True):
    hold_id: UUID
    starts_at: datetime
    until: datetime | None
    released_at: datetime | None = None

    @property
    def ends(self) -> datetime | None:
        if self.released_at is None:
            return self.until
        return self.released_at if self.until is None else min(self.until, self.released_at)


class CaseFacts(msgspec.Struct, kw_only=True, array_like=True):
    tenant_id: str
    case_id: UUID
    version: int
    external_ref: str
    portfolio: str
    product: str
    currency: str
    placed_at: datetime
    placed_amount: int
    past_due_amount: int
    placed_dpd: int
    timezone: str
    principal: int
    interest: int
    fees: int
    credit: int = 0
    payments_total: int = 0
    reversals_total: int = 0
    assigned_to: str | None = None
    assignments: list[tuple[datetime, str | None]] = []
    """(business time, assignee) sorted by time: who held the case when."""
    rpc_contacts: list[tuple[datetime, str]] = []
    """(business time, channel) of right-party contacts, sorted by time."""
    payments: list[PaymentFact] = []
    promises: list[PromiseFact] = []
    arrangement: ArrangementFact | None = None
    holds: list[HoldFact] = []
    open_disputes: list[UUID] = []
    legal: bool = False
    closed_at: datetime | None = None
    close_reason: str | None = None
    last_contact_at: datetime | None = None
    placed: tuple[int, int, int] | None = None
    """(fees, interest, principal) as placed; None in facts stored before allocation in
    business time (they go on applying the events' allocations until rebuilt)."""
    movements: list[Movement] | None = None
    """The money movements in business order (``ledger.domain.allocation``); None with
    ``placed``."""

    @property
    def balance(self) -> int:
        return self.principal + self.interest + self.fees - self.credit

    @property
    def base_status(self) -> str:
        """Status without holds (those are judged at query time), domain precedence."""
        if self.closed_at is not None:
            return "closed"
        if self.legal:
            return "legal"
        if self.open_disputes:
            return "disputed"
        if self.arrangement is not None and self.arrangement.status == "active":
            return "arrangement"
        if self.promises and self.promises[-1].status == "pending":
            return "promised"
        return "active"

    def hold_windows(self) -> str:
        """The holds as a PostgreSQL ``tstzmultirange`` literal."""
        parts = []
        for hold in self.holds:
            ends = hold.ends
            if ends is not None and ends <= hold.starts_at:
                continue
            upper = "" if ends is None else f'"{ends.isoformat()}"'
            parts.append(f'["{hold.starts_at.isoformat()}",{upper})')
        return "{" + ",".join(parts) + "}"

    def cured_at(self) -> datetime | None:
        """When net (never-reversed) payments first reached the past-due amount."""
        if self.past_due_amount <= 0:
            return None
        running = 0
        for payment in sorted((p for p in self.payments if p.counts), key=_received):
            running += payment.amount
            if running >= self.past_due_amount:
                return payment.received_at
        return None

    def _covered(self, start: datetime, end: datetime) -> int:
        return sum(p.amount for p in self.payments
                   if p.counts and start <= p.received_at < end)

    def next_deadline(self) -> datetime | None:
        """Earliest deadline the scheduler may have to break (as ``due_for_breaking`` sees it)."""
        if self.closed_at is not None:
            return None
        found = [p.deadline for p in self.promises
                 if p.status == "pending" and self._covered(p.made_at, p.deadline) < p.amount]
        plan = self.arrangement
        if plan is not None and plan.status == "active":
            for owed, deadline in zip(plan.owed_by, plan.deadlines, strict=True):
                if self._covered(plan.agreed_at, deadline) < owed:
                    found.append(deadline)
                    break
        return min(found, default=None)

    def agent_at(self, at: datetime) -> str:
        index = bisect.bisect_right(self.assignments, at, key=lambda item: item[0])
        agent = self.assignments[index - 1][1] if index else None
        return agent or UNASSIGNED

    def channel_at(self, at: datetime) -> str:
        index = bisect.bisect_right(self.rpc_contacts, at, key=lambda item: item[0])
        if index and self.rpc_contacts[index - 1][0] >= at - ATTRIBUTION_WINDOW:
            return self.rpc_contacts[index - 1][1]
        return NO_CHANNEL


def _received(payment: PaymentFact) -> datetime:
    return payment.received_at


def facts_from_placement(event: Any) -> CaseFacts:
    """The facts of a case from its ``Placed`` event (the debtor is deliberately not kept)."""
    return CaseFacts(
        tenant_id=event.tenant_id, case_id=event.originator_id,
        version=event.originator_version, external_ref=event.external_ref,
        portfolio=event.portfolio, product=event.product, currency=event.currency,
        placed_at=event.timestamp,
        placed_amount=event.principal + event.interest + event.fees,
        past_due_amount=event.past_due_amount, placed_dpd=event.days_past_due,
        timezone=event.timezone, principal=event.principal, interest=event.interest,
        fees=event.fees, placed=(event.fees, event.interest, event.principal), movements=[],
    )


ENCODER = msgspec.msgpack.Encoder()
DECODER = msgspec.msgpack.Decoder(CaseFacts)
