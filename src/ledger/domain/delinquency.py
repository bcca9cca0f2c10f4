"""Days past due and buckets.

A case is placed already delinquent: ``days_past_due`` at ``placed_at``. Without a cure it
keeps ageing one day per debtor-local calendar day. It is *cured* once net payments
(received up to the moment asked about, excluding reversed payments) reach the past-due
amount at placement; a cured case reads 0 days past due and no bucket. We chose "0 /
no bucket" rather than freezing the figure because roll-rate reports treat cured accounts as
a separate outcome, and a reversal that un-cures the case brings the ageing back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ledger.domain.records import PaymentRecord
from ledger.domain.timeutil import local_date, start_of_local_day

BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (1, 30, "1-30"),
    (31, 60, "31-60"),
    (61, 90, "61-90"),
    (91, 120, "91-120"),
    (121, 150, "121-150"),
    (151, 180, "151-180"),
    (181, None, "180+"),
)


def bucket_for(days_past_due: int) -> str | None:
    """The DPD bucket label, or ``None`` when not past due."""
    for low, high, label in BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return label
    return None


def net_paid_by(payments: Iterable[PaymentRecord], at: datetime) -> int:
    return sum(p.amount for p in payments if p.counts and p.received_at <= at)


def is_cured(
    past_due_amount: int, payments: Iterable[PaymentRecord], at: datetime
) -> bool:
    return past_due_amount > 0 and net_paid_by(payments, at) >= past_due_amount


def days_past_due(
    *,
    placed_days_past_due: int,
    placed_at: datetime,
    past_due_amount: int,
    payments: Iterable[PaymentRecord],
    timezone: str,
    at: datetime,
) -> int:
    """DPD at ``at``: placement DPD plus elapsed local days, or 0 once cured."""
    if placed_days_past_due == 0 and past_due_amount == 0:
        return 0
    if is_cured(past_due_amount, payments, at):
        return 0
    elapsed = (local_date(at, timezone) - local_date(placed_at, timezone)).days
    return max(0, placed_days_past_due + max(0, elapsed))


def days_past_due_stand_until(payments: Iterable[PaymentRecord], timezone: str,
                              at: datetime) -> datetime:
    """An instant after ``at`` before which ``days_past_due`` (same facts) answers as at
    ``at``: the debtor's next local midnight, once every counted payment was received by
    ``at`` (a payment received later cures the case when it arrives); else ``at`` itself.
    Lets a reader keep the figure (the case view); property-tested."""
    if any(p.counts and p.received_at > at for p in payments):
        return at
    return start_of_local_day(local_date(at, timezone) + timedelta(days=1), timezone)
