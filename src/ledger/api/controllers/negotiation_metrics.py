"""``GET /v1/metrics/complaints`` and ``GET /v1/metrics/approvals`` (read model
``negotiation``); periods are half-open ``[from, to)`` (dates or RFC 3339 times) on the
receipt or the request time."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery

from ledger.api import auth
from ledger.api.controllers.metrics import METRICS_ROLES, From, To
from ledger.api.periods import period
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.docs import responses
from ledger.api.schemas.negotiation import (
    ApprovalMetrics,
    ApprovalMetricsItem,
    ComplaintMetrics,
    ComplaintMetricsItem,
)
from ledger.projections import events_applied
from ledger.projections import negotiation_queries as nq


def _hours(values: list[float] | None, index: int) -> float | None:
    if values is None or values[index] is None:
        return None
    return round(float(values[index]), 2)


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


class NegotiationMetricsController(Controller):
    """Complaint handling and maker–checker figures."""

    parameters = MIN_POSITION
    path = "/v1/metrics"
    tags = ["metrics"]
    guards = [auth.allow(*METRICS_ROLES)]

    @get("/complaints", operation_id="complaintMetrics", responses=responses())
    async def complaints(
        self, request: Request, group_by: FromQuery[Literal["category", "root_cause", "agent"]],
        start: From = None, end: To = None,
    ) -> ComplaintMetrics:
        """Complaints received in ``[from, to)`` by category, root cause (``unresolved`` while
        open) or agent (the case's assignee when it was received, else ``unassigned``):
        counts by state and outcome, redress, and time-to-resolution percentiles in hours."""
        begin, finish = period(start, end)
        pool = await read_pool(request, "negotiation")
        as_of = await events_applied(pool, "negotiation")
        now = request.app.state.cases.clock()
        rows = await nq.complaint_metrics(pool, request.user.tenant_id, group_by, begin, finish,
                                          now)
        items = [ComplaintMetricsItem(
            group=r["grp"], received=r["received"], resolved=r["resolved"], open=r["open"],
            overdue=r["overdue"], upheld=r["upheld"], partial=r["partial"],
            rejected=r["rejected"], redress_amount=int(r["redress_amount"]),
            resolution_hours_p50=_hours(r["hours"], 0), resolution_hours_p90=_hours(r["hours"], 1),
            resolution_hours_p95=_hours(r["hours"], 2)) for r in rows]
        return ComplaintMetrics(items, as_of)

    @get("/approvals", operation_id="approvalMetrics", responses=responses())
    async def approvals(
        self, request: Request, group_by: FromQuery[Literal["decision", "requester"]],
        start: From = None, end: To = None,
    ) -> ApprovalMetrics:
        """Approvals requested in ``[from, to)`` by decision (``pending``, ``approved``,
        ``declined``) or requester (the bound agent, else the key id): counts, approval rate
        and time-to-decision percentiles in hours."""
        begin, finish = period(start, end)
        pool = await read_pool(request, "negotiation")
        as_of = await events_applied(pool, "negotiation")
        rows = await nq.approval_metrics(pool, request.user.tenant_id, group_by, begin, finish)
        items = [ApprovalMetricsItem(
            group=r["grp"], requested=r["requested"], approved=r["approved"],
            declined=r["declined"], pending=r["pending"],
            approval_rate=_rate(r["approved"], r["approved"] + r["declined"]),
            decision_hours_p50=_hours(r["hours"], 0), decision_hours_p90=_hours(r["hours"], 1))
            for r in rows]
        return ApprovalMetrics(items, as_of)
