"""Metrics responses: ``{"items": [{"group": …, …figures}], "as_of_position": n}``.

Amounts are integers in minor units; rates are JSON numbers rounded to 4 decimals (null when
their denominator is 0). ``as_of_position`` is the number of feed events the figures include.
"""

from __future__ import annotations

import msgspec


class RecoveryItem(msgspec.Struct, frozen=True, kw_only=True):
    """Recovery of one group."""

    group: str
    placed_amount: int
    """Principal + interest + fees at placement of the group's cases."""
    recovered_amount: int
    """Payments minus reversals attributed to the group."""
    recovery_rate: float | None
    cases: int
    cases_paid: int
    """Cases with a positive recovered amount in this group."""


class RecoveryReport(msgspec.Struct, frozen=True):
    """Recovery by portfolio, placement cohort, agent or channel."""

    items: list[RecoveryItem]
    as_of_position: int


class LiquidationPoint(msgspec.Struct, frozen=True, kw_only=True):
    """Cumulative recovery of a cohort by the end of month ``month`` since placement."""

    group: str
    """The month number as text (``"0"`` is the placement month)."""
    month: int
    placed_amount: int
    recovered_amount: int
    recovery_rate: float | None


class LiquidationCurve(msgspec.Struct, frozen=True):
    """A cohort's liquidation curve, month 0 up to the current month."""

    items: list[LiquidationPoint]
    cases: int
    as_of_position: int


class PromiseItem(msgspec.Struct, frozen=True, kw_only=True):
    """Promises due in the period, by status."""

    group: str
    made: int
    kept: int
    broken: int
    pending: int
    kept_rate: float | None
    """kept ÷ (kept + broken)."""


class PromiseReport(msgspec.Struct, frozen=True):
    """Promise outcomes by agent or portfolio."""

    items: list[PromiseItem]
    as_of_position: int


class ContactItem(msgspec.Struct, frozen=True, kw_only=True):
    """Outbound contact attempts and their outcomes."""

    group: str
    attempts: int
    contacts: int
    """Outbound attempts that reached the right party or a third party."""
    right_party: int
    contact_rate: float | None
    rpc_rate: float | None
    inbound: int
    """Inbound contacts (not part of the rates)."""


class ContactReport(msgspec.Struct, frozen=True):
    """Contact metrics by agent or channel."""

    items: list[ContactItem]
    as_of_position: int


class RollRateItem(msgspec.Struct, frozen=True, kw_only=True):
    """Where the cases in one DPD bucket at the start of the month were at its end."""

    group: str
    """The starting bucket."""
    cases: int
    """Open cases in the bucket at the end of the previous month."""
    rolled: int
    roll_rate: float | None
    """Share in the next bucket at the end of this month (for 180+: still in 180+)."""
    cured: int
    cure_rate: float | None
    """Share that paid the past-due amount by the end of this month."""


class RollRateReport(msgspec.Struct, frozen=True):
    """Month-over-month roll rates between DPD buckets."""

    items: list[RollRateItem]
    as_of_position: int
