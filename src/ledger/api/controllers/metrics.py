"""``GET /v1/metrics/*``: recovery, liquidation, promises, contacts and roll rates.

Periods are half-open ``[from, to)`` of UTC dates. Definitions: README, "Read models and
metrics". Every response carries ``as_of_position``: the feed events the figures include.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.csv_export import csv_response, structs_csv, wants_csv
from ledger.api.docs import responses
from ledger.api.periods import DESCRIPTION as PERIOD_DESCRIPTION
from ledger.api.periods import day_after_last, first_day, period
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
from ledger.services.keys import Role

METRICS_ROLES = (Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR)
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
From = Annotated[str | None, QueryParameter(name="from", description="Start of the period "
                                            "(inclusive). " + PERIOD_DESCRIPTION)]
To = Annotated[str | None, QueryParameter(name="to", description="End of the period "
                                        "(exclusive). " + PERIOD_DESCRIPTION)]
CSV_NOTE = ("The report. With `Accept: text/csv`: its items as CSV, one column per field, "
            "and `as_of_position` in the header `Ledger-As-Of-Position`.")
Month = Annotated[str, QueryParameter(pattern=MONTH_PATTERN, description="A month, YYYY-MM (UTC).")]


def _reply(request: Request, report: msgspec.Struct, kind: type[msgspec.Struct],
           name: str) -> Any:
    """The report as JSON, or its items as CSV when the client asks for ``text/csv``."""
    if not wants_csv(request):
        return report
    position = str(getattr(report, "as_of_position"))
    return csv_response(structs_csv(getattr(report, "items"), kind), f"{name}.csv",
                        {"Ledger-As-Of-Position": position})


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

    path = "/v1/metrics"
    tags = ["metrics"]
    guards = [auth.allow(*METRICS_ROLES)]

    @get("/recovery", operation_id="recoveryMetrics",
         responses=responses(ok=RecoveryReport, ok_description=CSV_NOTE))
    async def recovery(self, request: Request,
                       group_by: FromQuery[Literal["portfolio", "cohort", "agent", "channel"]],
                       start: From = None, end: To = None) -> RecoveryReport:
        """Placed and recovered amounts of the cases placed in ``[from, to)``, by portfolio,
        placement month (``cohort``), the assignee at each payment's business time (``agent``)
        or the channel of the last right-party contact within 30 days before it (``channel``).
        """
        first, following = period(start, end)
        pool = request.app.state.pool
        as_of = await events_applied(pool, "cases")
        rows = await mq.recovery(pool, request.user.tenant_id, group_by, first, following)
        items = [RecoveryItem(group=g, placed_amount=int(placed), recovered_amount=int(got),
                              recovery_rate=mq.rate(int(got), int(placed)), cases=cases,
                              cases_paid=paid)
                 for g, placed, got, cases, paid in rows]
        return _reply(request, RecoveryReport(items, as_of), RecoveryItem, "recovery")

    @get("/liquidation", operation_id="liquidationCurve",
         responses=responses(ok=LiquidationCurve, ok_description=CSV_NOTE))
    async def liquidation(self, request: Request, cohort: Month) -> LiquidationCurve:
        """Cumulative recovery rate of the cases placed in ``cohort`` by month since
        placement (month 0 = the placement month; calendar months, UTC)."""
        first, following = _month(cohort, "cohort")
        now = request.app.state.cases.clock()
        months = max(1, (now.year - first.year) * 12 + now.month - first.month + 1)
        pool = request.app.state.pool
        as_of = await events_applied(pool, "cases")
        placed, cases, per_month = await mq.liquidation(pool, request.user.tenant_id, first,
                                                        following, months)
        items, running = [], 0
        for month, amount in enumerate(per_month):
            running += amount
            items.append(LiquidationPoint(group=str(month), month=month, placed_amount=placed,
                                          recovered_amount=running,
                                          recovery_rate=mq.rate(running, placed)))
        return _reply(request, LiquidationCurve(items, cases, as_of), LiquidationPoint,
                      f"liquidation-{cohort}")

    @get("/promises", operation_id="promiseMetrics",
         responses=responses(ok=PromiseReport, ok_description=CSV_NOTE))
    async def promises(self, request: Request, group_by: FromQuery[Literal["agent", "portfolio"]],
                       start: From = None, end: To = None) -> PromiseReport:
        """Promises due in ``[from, to)``: made, kept, broken, pending and
        kept ÷ (kept + broken), by the agent who took them or by portfolio (due dates are
        days: a period given as times covers the UTC days it touches)."""
        first, following = period(start, end)
        pool = request.app.state.pool
        as_of = await events_applied(pool, "cases")
        rows = await mq.promises(pool, request.user.tenant_id, group_by, first_day(first),
                                 day_after_last(following))
        items = [PromiseItem(group=g, made=made, kept=kept, broken=broken, pending=pending,
                             kept_rate=mq.rate(kept, kept + broken))
                 for g, made, kept, broken, pending in rows]
        return _reply(request, PromiseReport(items, as_of), PromiseItem, "promises")

    @get("/contacts", operation_id="contactMetrics",
         responses=responses(ok=ContactReport, ok_description=CSV_NOTE))
    async def contacts(self, request: Request, group_by: FromQuery[Literal["agent", "channel"]],
                       start: From = None, end: To = None) -> ContactReport:
        """Contacts that happened in ``[from, to)``: outbound attempts, those that reached
        someone (right or third party) and the right party, with their rates (counted per
        UTC day: a period given as times covers the days it touches)."""
        first, following = period(start, end)
        pool = request.app.state.pool
        as_of = await events_applied(pool, "contacts")
        rows = await mq.contacts(pool, request.user.tenant_id, group_by, first_day(first),
                                 day_after_last(following))
        items = [ContactItem(group=g, attempts=int(a), contacts=int(c), right_party=int(r),
                             contact_rate=mq.rate(int(c), int(a)),
                             rpc_rate=mq.rate(int(r), int(a)), inbound=int(i))
                 for g, a, c, r, i in rows]
        return _reply(request, ContactReport(items, as_of), ContactItem, "contacts")

    @get("/roll-rates", operation_id="rollRates",
         responses=responses(ok=RollRateReport, ok_description=CSV_NOTE))
    async def roll_rates(self, request: Request, month: Month) -> RollRateReport:
        """For each DPD bucket: of the open cases in it at the end of the previous month,
        the share in the next bucket and the share cured at the end of ``month``."""
        first, following = _month(month, "month")
        pool = request.app.state.pool
        as_of = await events_applied(pool, "cases")
        counts = await mq.roll_rates(pool, request.user.tenant_id, first, following)
        items = [RollRateItem(group=bucket, cases=cases, rolled=rolled,
                              roll_rate=mq.rate(rolled, cases), cured=cured,
                              cure_rate=mq.rate(cured, cases))
                 for bucket, (cases, rolled, cured) in counts.items()]
        return _reply(request, RollRateReport(items, as_of), RollRateItem, f"roll-rates-{month}")
