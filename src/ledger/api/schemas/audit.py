"""History, statement, verification and erasure responses (the "Audit" part of API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from ledger.api.schemas.common import Request


class HistoryItem(msgspec.Struct, frozen=True):
    """One event of a case as recorded: business time, record time, who, and the fact's data."""

    position: int
    """Store-wide sequence number of the event (the feed's ``position``)."""
    version: int
    type: str
    """Event type, e.g. ``Placed``, ``PaymentReceived``, ``PersonalDataErased``."""
    occurred_at: datetime
    """Business time: when the fact happened."""
    recorded_at: datetime
    """Record time: when the store recorded it (covered by the hash chain)."""
    actor: str | None
    data: dict[str, Any]
    """The fact's fields; a ``Placed`` debtor reads like the case view's (null once erased)."""
    chain_hash: str
    """Hex SHA-256 chaining this event to the previous one of the case (README, "Tamper evidence")."""


class HistoryPage(msgspec.Struct, frozen=True):
    """Events of one case, oldest first; ``next_cursor`` is null on the last page."""

    items: list[HistoryItem]
    next_cursor: str | None


class AllocationView(msgspec.Struct, frozen=True):
    """How a movement split over the balance components (``credit``: beyond everything owed)."""

    fees: int
    interest: int
    principal: int
    credit: int = 0


class PlacedSplit(msgspec.Struct, frozen=True):
    """The balance as placed, by component."""

    principal: int
    interest: int
    fees: int


class StatementLine(msgspec.Struct, frozen=True):
    """One movement of the balance and the balance after it."""

    at: datetime
    """Business time of the fact."""
    kind: str
    """``payment``, ``reversal``, ``adjustment`` (interest or fee added) or ``waiver``."""
    reference: str
    """The payment's ``external_id`` (payments, reversals) or the reason (adjustments, waivers)."""
    amount: int
    """Positive; the direction follows from ``kind``."""
    allocation: AllocationView
    balance: int
    """Running balance after this line."""


class Statement(msgspec.Struct, frozen=True):
    """The itemised account: placed split, every money line in business-time order, balance.

    ``balance`` equals the case view's ``balance`` at the same ``as_of``/``as_known_at``."""

    case_id: UUID
    as_of: datetime
    currency: str
    placed: PlacedSplit
    lines: list[StatementLine]
    balance: int


class VerifyReport(msgspec.Struct, frozen=True):
    """Recomputed hash chain of one case; ``first_bad_version`` is null when ``ok``."""

    ok: bool
    events_checked: int
    first_bad_version: int | None
    checkpoint_id: int | None = None
    """The signed checkpoint the case was held to (null before the first checkpoint covering
    it): a tail deleted, the stream deleted or rewritten since then is reported too."""
    reason: str | None = None
    """Why the case is not ok, in words (null when ``ok``)."""


class EraseRequest(Request):
    """Erase the debtor's personal data (name, phones, emails, address) of a case."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000,
                                        description="Why (e.g. the data-subject request id).")]


class ErasureResult(msgspec.Struct, frozen=True):
    """The erasure is recorded (event ``PersonalDataErased``) and the data key destroyed."""

    case_id: UUID
    version: int
    """Case version after the ``PersonalDataErased`` event."""
    erased: bool
    erased_at: datetime
