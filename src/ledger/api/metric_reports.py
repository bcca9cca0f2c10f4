"""The metric reports, computed once for the JSON/CSV routes and the dashboard alike.

Both faces call these functions with the same parsed filters, so a figure on a dashboard page
is by construction the figure ``/v1/metrics/*`` gives for the same ``from``/``to``.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ledger.api.periods import day_after_last, first_day
from ledger.api.schemas.negotiation import (
    ApprovalMetrics,
    ApprovalMetricsItem,
    ComplaintMetrics,
    ComplaintMetricsItem,
)
from ledger.api.schemas.metrics import (
    ContactItem,
    ContactReport,
    LiquidationCurve,
    LiquidationPoint,
    PromiseItem,
    PromiseReport,
    RecoveryItem,
    RecoveryReport,
    RollRateItem,
    RollRateReport,
)
from ledger.projections import as_of_position
from ledger.projections import metric_queries as mq
from ledger.projections import negotiation_queries as nq
from ledger.projections import strategy_metrics as sm

Instant = datetime | None


async def recovery(pool: asyncpg.Pool, tenant: str, group_by: str, start: Instant,
                   end: Instant) -> RecoveryReport:
    as_of = await as_of_position(pool, "cases")
    queries = sm if group_by in sm.STRATEGY_GROUPS else mq
    rows = await queries.recovery(pool, tenant, group_by, start, end)
    items = [RecoveryItem(group=g, placed_amount=int(placed), recovered_amount=int(got),
                          recovery_rate=mq.rate(int(got), int(placed)), cases=cases,
                          cases_paid=paid)
             for g, placed, got, cases, paid in rows]
    return RecoveryReport(items, as_of)


async def liquidation(pool: asyncpg.Pool, tenant: str, first: datetime, following: datetime,
                      now: datetime) -> LiquidationCurve:
    """The curve of the cases placed in ``[first, following)`` (a calendar month), month 0
    up to ``now``'s month."""
    months = max(1, (now.year - first.year) * 12 + now.month - first.month + 1)
    as_of = await as_of_position(pool, "cases")
    placed, cases, per_month = await mq.liquidation(pool, tenant, first, following, months)
    items, running = [], 0
    for month, amount in enumerate(per_month):
        running += amount
        items.append(LiquidationPoint(group=str(month), month=month, placed_amount=placed,
                                      recovered_amount=running,
                                      recovery_rate=mq.rate(running, placed)))
    return LiquidationCurve(items, cases, as_of)


async def promises(pool: asyncpg.Pool, tenant: str, group_by: str, start: Instant,
                   end: Instant) -> PromiseReport:
    as_of = await as_of_position(pool, "cases")
    queries = sm if group_by in sm.STRATEGY_GROUPS else mq
    rows = await queries.promises(pool, tenant, group_by, first_day(start), day_after_last(end))
    items = [PromiseItem(group=g, made=made, kept=kept, broken=broken, pending=pending,
                         kept_rate=mq.rate(kept, kept + broken))
             for g, made, kept, broken, pending in rows]
    return PromiseReport(items, as_of)


async def contacts(pool: asyncpg.Pool, tenant: str, group_by: str, start: Instant,
                   end: Instant) -> ContactReport:
    as_of = await as_of_position(pool, contacts_projection(group_by))
    queries = sm if group_by in sm.STRATEGY_GROUPS else mq
    rows = await queries.contacts(pool, tenant, group_by, first_day(start), day_after_last(end))
    items = [ContactItem(group=g, attempts=int(a), contacts=int(c), right_party=int(r),
                         contact_rate=mq.rate(int(c), int(a)), rpc_rate=mq.rate(int(r), int(a)),
                         inbound=int(i))
             for g, a, c, r, i in rows]
    return ContactReport(items, as_of)


def contacts_projection(group_by: str) -> str:
    """The read model contact figures by ``group_by`` come from (segments and arms: strategies)."""
    return "strategies" if group_by in sm.STRATEGY_GROUPS else "contacts"


async def roll_rates(pool: asyncpg.Pool, tenant: str, first: datetime,
                     following: datetime) -> RollRateReport:
    as_of = await as_of_position(pool, "cases")
    counts = await mq.roll_rates(pool, tenant, first, following)
    items = [RollRateItem(group=bucket, cases=cases, rolled=rolled,
                          roll_rate=mq.rate(rolled, cases), cured=cured,
                          cure_rate=mq.rate(cured, cases))
             for bucket, (cases, rolled, cured) in counts.items()]
    return RollRateReport(items, as_of)


def _hours(values: list[float] | None, index: int) -> float | None:
    if values is None or values[index] is None:
        return None
    return round(float(values[index]), 2)


async def complaints(pool: asyncpg.Pool, tenant: str, group_by: str, start: Instant,
                     end: Instant, now: datetime) -> ComplaintMetrics:
    """Complaints received in the period (read model ``negotiation``, issue 15)."""
    as_of = await as_of_position(pool, "negotiation")
    rows = await nq.complaint_metrics(pool, tenant, group_by, start, end, now)
    items = [ComplaintMetricsItem(
        group=r["grp"], received=r["received"], resolved=r["resolved"], open=r["open"],
        overdue=r["overdue"], upheld=r["upheld"], partial=r["partial"],
        rejected=r["rejected"], redress_amount=int(r["redress_amount"]),
        resolution_hours_p50=_hours(r["hours"], 0), resolution_hours_p90=_hours(r["hours"], 1),
        resolution_hours_p95=_hours(r["hours"], 2)) for r in rows]
    return ComplaintMetrics(items, as_of)


async def approvals(pool: asyncpg.Pool, tenant: str, group_by: str, start: Instant,
                    end: Instant) -> ApprovalMetrics:
    as_of = await as_of_position(pool, "negotiation")
    rows = await nq.approval_metrics(pool, tenant, group_by, start, end)
    items = [ApprovalMetricsItem(
        group=r["grp"], requested=r["requested"], approved=r["approved"],
        declined=r["declined"], pending=r["pending"],
        approval_rate=mq.rate(r["approved"], r["approved"] + r["declined"]),
        decision_hours_p50=_hours(r["hours"], 0), decision_hours_p90=_hours(r["hours"], 1))
        for r in rows]
    return ApprovalMetrics(items, as_of)
