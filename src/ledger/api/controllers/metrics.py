"""``GET /v1/metrics/*``: recovery, liquidation, promises, contacts and roll rates.

Periods are half-open ``[from, to)`` of UTC dates. Definitions: README, "Read models and
metrics". Every response carries ``as_of_position``: the feed events the figures include.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.csv_export import csv_response, structs_csv, wants_csv
from ledger.api.docs import responses
from ledger.api.periods import DESCRIPTION as PERIOD_DESCRIPTION
from ledger.api.periods import month_span, period
from ledger.api import metric_reports as reports
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
from ledger.services.keys import Role

METRICS_ROLES = (Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR)
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
"""Years 1900–2999: every month matching it is a valid calendar month, and so is the next."""
# A date or a date-time, stated as formats: a pattern could not say which days exist.
DATE_OR_TIME = {"anyOf": [{"type": "string", "format": "date"},
                          {"type": "string", "format": "date-time"}]}
From = Annotated[str | None, QueryParameter(name="from", description="Start of the period "
                                            "(inclusive). " + PERIOD_DESCRIPTION,
                                            schema_extra=DATE_OR_TIME)]
To = Annotated[str | None, QueryParameter(name="to", description="End of the period "
                                        "(exclusive). " + PERIOD_DESCRIPTION,
                                        schema_extra=DATE_OR_TIME)]
CSV_NOTE = ("The report. With `Accept: text/csv`: its items as CSV, one column per field, "
            "and `as_of_position` in the header `Ledger-As-Of-Position`.")
Month = Annotated[str, QueryParameter(pattern=MONTH_PATTERN, description="A month, YYYY-MM (UTC).")]


def metric_reply(request: Request, report: msgspec.Struct, kind: type[msgspec.Struct],
           name: str) -> Any:
    """The report as JSON, or its items as CSV when the client asks for ``text/csv``."""
    if not wants_csv(request):
        return report
    position = str(getattr(report, "as_of_position"))
    return csv_response(structs_csv(getattr(report, "items"), kind), f"{name}.csv",
                        {"Ledger-As-Of-Position": position})


class MetricsController(Controller):
    """Dashboards' figures, reconciled to the cent with the events."""

    parameters = MIN_POSITION
    path = "/v1/metrics"
    tags = ["metrics"]
    opt = auth.allow(*METRICS_ROLES)

    @get("/recovery", operation_id="recoveryMetrics",
         responses=responses(ok=RecoveryReport, ok_description=CSV_NOTE))
    async def recovery(self, request: Request,
                       group_by: FromQuery[Literal["portfolio", "cohort", "agent", "channel",
                                                 "segment", "arm"]],
                       start: From = None, end: To = None) -> RecoveryReport:
        """Placed and recovered amounts of the cases placed in ``[from, to)``, by portfolio,
        placement month (``cohort``), the assignee at each payment's business time (``agent``)
        or the channel of the last right-party contact within 30 days before it (``channel``),
        or the strategy ``segment`` / ``arm`` the case was in at the payment's business time.
        """
        first, following = period(start, end)
        pool = await read_pool(request, "cases")
        report = await reports.recovery(pool, request.user.tenant_id,
                                        group_by, first, following)
        return metric_reply(request, report, RecoveryItem, "recovery")

    @get("/liquidation", operation_id="liquidationCurve",
         responses=responses(ok=LiquidationCurve, ok_description=CSV_NOTE))
    async def liquidation(self, request: Request, cohort: Month) -> LiquidationCurve:
        """Cumulative recovery rate of the cases placed in ``cohort`` by month since
        placement (month 0 = the placement month; calendar months, UTC)."""
        first, following = month_span(cohort, "cohort")
        pool = await read_pool(request, "cases")
        report = await reports.liquidation(pool, request.user.tenant_id, first,
                                           following, request.app.state.cases.clock())
        return metric_reply(request, report, LiquidationPoint,
                      f"liquidation-{cohort}")

    @get("/promises", operation_id="promiseMetrics",
         responses=responses(ok=PromiseReport, ok_description=CSV_NOTE))
    async def promises(self, request: Request, group_by: FromQuery[Literal["agent", "portfolio", "segment", "arm"]],
                       start: From = None, end: To = None) -> PromiseReport:
        """Promises due in ``[from, to)``: made, kept, broken, pending and
        kept ÷ (kept + broken), by the agent who took them or by portfolio (due dates are
        days: a period given as times covers the UTC days it touches)."""
        first, following = period(start, end)
        pool = await read_pool(request, "cases")
        report = await reports.promises(pool, request.user.tenant_id,
                                        group_by, first, following)
        return metric_reply(request, report, PromiseItem, "promises")

    @get("/contacts", operation_id="contactMetrics",
         responses=responses(ok=ContactReport, ok_description=CSV_NOTE))
    async def contacts(self, request: Request, group_by: FromQuery[Literal["agent", "channel", "segment", "arm"]],
                       start: From = None, end: To = None) -> ContactReport:
        """Contacts that happened in ``[from, to)``: outbound attempts, those that reached
        someone (right or third party) and the right party, with their rates (counted per
        UTC day: a period given as times covers the days it touches)."""
        first, following = period(start, end)
        pool = await read_pool(request, reports.contacts_projection(group_by))
        report = await reports.contacts(pool, request.user.tenant_id,
                                        group_by, first, following)
        return metric_reply(request, report, ContactItem, "contacts")

    @get("/roll-rates", operation_id="rollRates",
         responses=responses(ok=RollRateReport, ok_description=CSV_NOTE))
    async def roll_rates(self, request: Request, month: Month) -> RollRateReport:
        """For each DPD bucket: of the open cases in it at the end of the previous month,
        the share in the next bucket and the share cured at the end of ``month``."""
        first, following = month_span(month, "month")
        pool = await read_pool(request, "cases")
        report = await reports.roll_rates(pool, request.user.tenant_id, first,
                                          following)
        return metric_reply(request, report, RollRateItem, f"roll-rates-{month}")
