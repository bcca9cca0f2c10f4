"""Value objects and vocabularies shared by events, state and rules.

Everything here is encodable by a msgspec codec that decodes by annotation: enums are
``StrEnum`` (encoded as their string), value objects are frozen ``msgspec.Struct``.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from enum import StrEnum

import msgspec


class Channel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Outcome(StrEnum):
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    RIGHT_PARTY = "right_party"
    THIRD_PARTY = "third_party"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    DELIVERED = "delivered"
    BOUNCED = "bounced"


UNANSWERED_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL})
"""Dial attempts that reached nobody (CN counts these per day)."""

CONNECTED_OUTCOMES = frozenset(
    {Outcome.RIGHT_PARTY, Outcome.THIRD_PARTY, Outcome.WRONG_NUMBER, Outcome.REFUSED}
)
"""Calls a person answered (CN counts these per day)."""


class PaymentMethod(StrEnum):
    CARD = "card"
    ACH = "ach"
    WIRE = "wire"
    CASH = "cash"
    CHECK = "check"
    OTHER = "other"


class HoldKind(StrEnum):
    HARDSHIP = "hardship"
    BREATHING_SPACE = "breathing_space"
    BANKRUPTCY = "bankruptcy"
    DECEASED = "deceased"
    OTHER = "other"
    COMPLAINT = "complaint"  # placed by a complaint with pause_collection, released by its resolution


class AdjustmentKind(StrEnum):
    INTEREST = "interest"
    FEE = "fee"
    WAIVER = "waiver"


class ArrangementKind(StrEnum):
    INSTALLMENTS = "installments"
    SETTLEMENT = "settlement"


class DisputeOutcome(StrEnum):
    UPHELD = "upheld"
    REJECTED = "rejected"


class CloseReason(StrEnum):
    PAID = "paid"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"
    RECALLED = "recalled"
    BANKRUPT = "bankrupt"
    DECEASED = "deceased"
    SOLD = "sold"


class CaseStatus(StrEnum):
    """Headline status; when several apply the earliest listed here wins."""

    CLOSED = "closed"
    LEGAL = "legal"
    ON_HOLD = "on_hold"
    DISPUTED = "disputed"
    ARRANGEMENT = "arrangement"
    PROMISED = "promised"
    ACTIVE = "active"


class PromiseStatus(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    BROKEN = "broken"


class InstalmentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    MISSED = "missed"


class ArrangementStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DEFAULTED = "defaulted"


class Debtor(msgspec.Struct, frozen=True):
    """The debtor's personal data: the one value a later issue encrypts and can erase."""

    name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    address: str | None = None
    timezone: str = "UTC"
    jurisdiction: str = ""
    erased: bool = False
    """True when the personal fields could not be read because their key was destroyed."""


class Instalment(msgspec.Struct, frozen=True):
    """One agreed payment of an arrangement."""

    due_date: date
    amount: int


class Breach(msgspec.Struct, frozen=True):
    """A compliance rule a recorded contact broke; ``rule`` is a stable snake_case code."""

    rule: str
    detail: str


class CallRecord(msgspec.Struct, frozen=True):
    """The little contact history compliance rules need (no personal data)."""

    at: datetime
    channel: Channel
    direction: Direction
    outcome: Outcome


class HoldWindow(msgspec.Struct, frozen=True):
    """A hold as compliance sees it: it blocks contact from ``starts_at`` until ``until``."""

    hold_id: UUID
    kind: HoldKind
    starts_at: datetime
    until: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.until is None or at < self.until)
