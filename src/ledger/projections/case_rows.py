"""The rows the cases projection derives from one case's ``CaseFacts``.

Each builder returns tuples in the column order of its table, ready for binary COPY; the
rollup builders return a case's *contribution* to the recovery and promise rollups, which
the projection diffs against the contribution it last wrote (signed deltas).
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ledger.projections.case_facts import ENCODER, UNASSIGNED, CaseFacts

CASE_COLUMNS = [
    "tenant_id", "case_id", "version", "external_ref", "portfolio", "product", "currency",
    "base_status", "holds", "placed_at", "placed_amount", "balance", "principal", "interest",
    "fees", "paid_total", "past_due_amount", "placed_dpd", "timezone", "cured_at",
    "assigned_to", "promise_id", "promise_amount", "promise_due", "promise_status",
    "last_contact_at", "closed_at", "close_reason", "next_deadline", "dpd_anchor", "facts",
]
PAYMENT_COLUMNS = ["tenant_id", "case_id", "external_id", "amount", "received_at", "reversed",
                   "agent", "channel", "portfolio", "placed_at"]
PROMISE_COLUMNS = ["tenant_id", "case_id", "promise_id", "agent", "portfolio", "amount",
                   "made_at", "due_date", "status"]
AGEING_COLUMNS = ["tenant_id", "case_id", "placed_at", "dpd_anchor", "placed_dpd", "timezone",
                  "cured_at", "closed_at"]

RecoveryKey = tuple[str, str, date, str]
"""(tenant, dimension, placement day UTC, group)."""
PromiseKey = tuple[str, str, date, str]
"""(tenant, dimension, due date, group)."""
_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


def dpd_anchor(facts: CaseFacts) -> date | None:
    """Debtor-local placement date minus placement DPD (see migration 0021); None if never due."""
    if facts.placed_dpd == 0 and facts.past_due_amount == 0:
        return None
    local = facts.placed_at.astimezone(_zone(facts.timezone)).date()
    return local - timedelta(days=facts.placed_dpd)


def hold_ranges(facts: CaseFacts) -> list[asyncpg.Range]:
    """The holds as multirange members (PostgreSQL merges overlaps on input)."""
    ranges = []
    for hold in facts.holds:
        ends = hold.ends
        if ends is not None and ends <= hold.starts_at:
            continue
        ranges.append(asyncpg.Range(hold.starts_at, ends, lower_inc=True, upper_inc=False))
    return ranges


def case_row(facts: CaseFacts) -> tuple[Any, ...]:
    latest = facts.promises[-1] if facts.promises else None
    return (
        facts.tenant_id, facts.case_id, facts.version, facts.external_ref, facts.portfolio,
        facts.product, facts.currency, facts.base_status, hold_ranges(facts),
        facts.placed_at, facts.placed_amount, facts.balance, facts.principal, facts.interest,
        facts.fees, facts.payments_total - facts.reversals_total, facts.past_due_amount,
        facts.placed_dpd, facts.timezone, facts.cured_at(), facts.assigned_to,
        latest and latest.promise_id, latest and latest.amount, latest and latest.due_date,
        latest and latest.status, facts.last_contact_at, facts.closed_at, facts.close_reason,
        facts.next_deadline(), dpd_anchor(facts), ENCODER.encode(facts),
    )


def payment_rows(facts: CaseFacts) -> list[tuple[Any, ...]]:
    """One row per payment, attributed by business time (see ``CaseFacts.agent_at``)."""
    return [
        (facts.tenant_id, facts.case_id, p.external_id, p.amount, p.received_at, p.reversed,
         facts.agent_at(p.received_at), facts.channel_at(p.received_at), facts.portfolio,
         facts.placed_at)
        for p in facts.payments
    ]


def promise_rows(facts: CaseFacts) -> list[tuple[Any, ...]]:
    return [
        (facts.tenant_id, facts.case_id, p.promise_id, p.agent or UNASSIGNED,
         facts.portfolio, p.amount, p.made_at, p.due_date, p.status)
        for p in facts.promises
    ]


def ageing_row(facts: CaseFacts, anchor: date | None) -> tuple[Any, ...] | None:
    if anchor is None:
        return None
    return (facts.tenant_id, facts.case_id, facts.placed_at, anchor, facts.placed_dpd,
            facts.timezone, facts.cured_at(), facts.closed_at)


def recovery_contribution(facts: CaseFacts,
                          payments: list[tuple[Any, ...]]) -> dict[RecoveryKey, tuple[int, ...]]:
    """(placed, recovered, cases, cases_paid) per rollup key, as the metrics define them:
    a case counts once per portfolio, and once in each agent/channel group a payment of it
    is attributed to (its assignee / ``none`` when it has no payment)."""
    tenant, placed = facts.tenant_id, facts.placed_amount
    day = facts.placed_at.astimezone(UTC).date()
    net = facts.payments_total - facts.reversals_total
    out: dict[RecoveryKey, tuple[int, ...]] = {
        (tenant, "portfolio", day, facts.portfolio): (placed, net, 1, int(net > 0))}
    if not payments:
        out[(tenant, "agent", day, facts.assigned_to or UNASSIGNED)] = (placed, 0, 1, 0)
        out[(tenant, "channel", day, "none")] = (placed, 0, 1, 0)
        return out
    for dimension, column in (("agent", 6), ("channel", 7)):
        recovered: dict[str, int] = {}
        for row in payments:
            recovered[row[column]] = recovered.get(row[column], 0) + (0 if row[5] else row[3])
        for group, amount in recovered.items():
            out[(tenant, dimension, day, group)] = (placed, amount, 1, int(amount > 0))
    return out


def promise_contribution(promises: list[tuple[Any, ...]]) -> dict[PromiseKey, list[int]]:
    """(made, kept, broken, pending) per rollup key."""
    out: dict[PromiseKey, list[int]] = {}
    for row in promises:
        status = row[8]
        for dimension, group in (("agent", row[3]), ("portfolio", row[4])):
            counts = out.setdefault((row[0], dimension, row[7], group), [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += status == "kept"
            counts[2] += status == "broken"
            counts[3] += status == "pending"
    return out


def add_delta(totals: dict[Any, list[int]], old: dict[Any, Any], new: dict[Any, Any]) -> None:
    """Accumulate ``new - old`` per key into ``totals``."""
    for key, values in new.items():
        slot = totals.get(key)
        totals[key] = list(values) if slot is None else [a + b for a, b in zip(slot, values)]
    for key, values in old.items():
        slot = totals.get(key)
        totals[key] = ([-v for v in values] if slot is None
                       else [a - b for a, b in zip(slot, values)])
