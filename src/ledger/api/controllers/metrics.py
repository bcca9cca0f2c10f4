"""``GET /v1/metrics/*``: recovery, liquidation, promises, contacts and roll rates.

Periods are half-open ``[from, to)`` of UTC dates. Definitions: README, "Read models and
metrics". Every response carries ``as_of_position``: the feed events the figures include.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.docs import responses
from ledger.api.problems import invalid
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
from ledger.projections import events_applied
from ledger.projections import metric_queries as mq
from ledger.projections import strategy_metrics as sm
from ledger.services.keys import Role

METRICS_ROLES = (Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR)
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
From = Annotated[date | None, QueryParameter(name="from", description="First day (YYYY-MM-DD, UTC).")]
To = Annotated[date | None, QueryParameter(name="to", description="Day after the last (YYYY-MM-DD).")]
Month = Annotated[str, QueryParameter(pattern=MONTH_PATTERN, description="A month, YYYY-MM (UTC).")]


def _instant(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def _period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end <= start:
        raise invalid("to", "must be after from")


def _month(text: str, field: str) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next) for ``YYYY-MM``."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = datetime(year, month, 1, tzinfo=UTC)
    except ValueError:
        raise invalid(field, "must be a month, YYYY-MM") from None
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return first, following


class MetricsController(Controller):
    """Dashboards' figures, reconciled to the cent with the events."""

    parameters = MIN_POSITION
    path = "/v1/metrics"
    tags = ["metrics"]
    guards = [auth.allow(*METRICS_ROLES)]

    @get("/recovery", operation_id="recoveryMetrics", responses=responses())
    async def recovery(self, request: Request,
                       group_by: FromQuery[Literal["portfolio", "cohort", "agent", "channel", "segment", "arm"]],
                       start: From = None, end: To = None) -> RecoveryReport:
        """Placed and recovered amounts of the cases placed in ``[from, to)``, by portfolio,
        placement month (``cohort``), the assignee at each payment's business time (``agent``)
        or the channel of the last right-party contact within 30 days before it (``channel``),
        or the strategy ``segment`` / ``arm`` the case was in at the payment's business time."""
        _period(start, end)
        pool = await read_pool(request, "cases")
        as_of = await events_applied(pool, "cases")
        queries = sm if group_by in sm.STRATEGY_GROUPS else mq
        rows = await queries.recovery(pool, request.user.tenant_id, group_by, _instant(start),
                                      _instant(end))
        items = [RecoveryItem(group=g, placed_amount=int(placed), recovered_amount=int(got),
                              recovery_rate=mq.rate(int(got), int(placed)), cases=cases,
                              cases_paid=paid)
                 for g, placed, got, cases, paid in rows]
        return RecoveryReport(items, as_of)

    @get("/liquidation", operation_id="liquidationCurve", responses=responses())
    async def liquidation(self, request: Request, cohort: Month) -> LiquidationCurve:
        """Cumulative recovery rate of the cases placed in ``cohort`` by month since
        placement (month 0 = the placement month; calendar months, UTC)."""
        first, following = _month(cohort, "cohort")
        now = request.app.state.cases.clock()
        months = max(1, (now.year - first.year) * 12 + now.month - first.month + 1)
        pool = await read_pool(request, "cases")
        as_of = await events_applied(pool, "cases")
        placed, cases, per_month = await mq.liquidation(pool, request.user.tenant_id, first,
                                                        following, months)
        items, running = [], 0
        for month, amount in enumerate(per_month):
            running += amount
            items.append(LiquidationPoint(group=str(month), month=month, placed_amount=placed,
                                          recovered_amount=running,
                                          recovery_rate=mq.rate(running, placed)))
        return LiquidationCurve(items, cases, as_of)

    @get("/promises", operation_id="promiseMetrics", responses=responses())
    async def promises(self, request: Request, group_by: FromQuery[Literal["agent", "portfolio", "segment", "arm"]],
                       start: From = None, end: To = None) -> PromiseReport:
        """Promises due in ``[from, to)``: made, kept, broken, pending and
        kept ÷ (kept + broken), by the agent who took them or by portfolio."""
        _period(start, end)
        pool = await read_pool(request, "cases")
        as_of = await events_applied(pool, "cases")
        queries = sm if group_by in sm.STRATEGY_GROUPS else mq
        rows = await queries.promises(pool, request.user.tenant_id, group_by, start, end)
        items = [PromiseItem(group=g, made=made, kept=kept, broken=broken, pending=pending,
                             kept_rate=mq.rate(kept, kept + broken))
                 for g, made, kept, broken, pending in rows]
        return PromiseReport(items, as_of)

    @get("/contacts", operation_id="contactMetrics", responses=responses())
    async def contacts(self, request: Request, group_by: FromQuery[Literal["agent", "channel", "segment", "arm"]],
                       start: From = None, end: To = None) -> ContactReport:
        """Contacts that happened in ``[from, to)``: outbound attempts, those that reached
        someone (right or third party) and the right party, with their rates."""
        _period(start, end)
        strategic = group_by in sm.STRATEGY_GROUPS
        projection = "strategies" if strategic else "contacts"
        pool = await read_pool(request, projection)
        as_of = await events_applied(pool, projection)
        rows = await (sm if strategic else mq).contacts(pool, request.user.tenant_id, group_by,
                                                        start, end)
        items = [ContactItem(group=g, attempts=int(a), contacts=int(c), right_party=int(r),
                             contact_rate=mq.rate(int(c), int(a)),
                             rpc_rate=mq.rate(int(r), int(a)), inbound=int(i))
                 for g, a, c, r, i in rows]
        return ContactReport(items, as_of)

    @get("/roll-rates", operation_id="rollRates", responses=responses())
    async def roll_rates(self, request: Request, month: Month) -> RollRateReport:
        """For each DPD bucket: of the open cases in it at the end of the previous month,
        the share in the next bucket and the share cured at the end of ``month``."""
        first, following = _month(month, "month")
        pool = await read_pool(request, "cases")
        as_of = await events_applied(pool, "cases")
        counts = await mq.roll_rates(pool, request.user.tenant_id, first, following)
        items = [RollRateItem(group=bucket, cases=cases, rolled=rolled,
                              roll_rate=mq.rate(rolled, cases), cured=cured,
                              cure_rate=mq.rate(cured, cases))
                 for bucket, (cases, rolled, cured) in counts.items()]
        return RollRateReport(items, as_of)
