"""``GET /v1/metrics/complaints`` and ``GET /v1/metrics/approvals`` (read model
``negotiation``); periods are half-open ``[from, to)`` (dates or RFC 3339 times) on the
receipt or the request time."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Request, get
from litestar.params import FromQuery

from ledger.api import auth
from ledger.api import metric_reports as reports
from ledger.api.controllers.metrics import CSV_NOTE, METRICS_ROLES, From, To, metric_reply
from ledger.api.periods import period
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.docs import responses
from ledger.api.schemas.negotiation import (
    ApprovalMetrics,
    ApprovalMetricsItem,
    ComplaintMetrics,
    ComplaintMetricsItem,
)


class NegotiationMetricsController(Controller):
    """Complaint handling and maker–checker figures."""

    parameters = MIN_POSITION
    path = "/v1/metrics"
    tags = ["metrics"]
    opt = auth.allow(*METRICS_ROLES)

    @get("/complaints", operation_id="complaintMetrics",
         responses=responses(ok=ComplaintMetrics, ok_description=CSV_NOTE))
    async def complaints(
        self, request: Request, group_by: FromQuery[Literal["category", "root_cause", "agent"]],
        start: From = None, end: To = None,
    ) -> ComplaintMetrics:
        """Complaints received in ``[from, to)`` by category, root cause (``unresolved`` while
        open) or agent (the case's assignee when it was received, else ``unassigned``):
        counts by state and outcome, redress, and time-to-resolution percentiles in hours."""
        begin, finish = period(start, end)
        pool = await read_pool(request, "negotiation")
        report = await reports.complaints(pool, request.user.tenant_id, group_by, begin, finish,
                                          request.app.state.cases.clock())
        return metric_reply(request, report, ComplaintMetricsItem, "complaints")

    @get("/approvals", operation_id="approvalMetrics",
         responses=responses(ok=ApprovalMetrics, ok_description=CSV_NOTE))
    async def approvals(
        self, request: Request, group_by: FromQuery[Literal["decision", "requester"]],
        start: From = None, end: To = None,
    ) -> ApprovalMetrics:
        """Approvals requested in ``[from, to)`` by decision (``pending``, ``approved``,
        ``declined``) or requester (the bound agent, else the key id): counts, approval rate
        and time-to-decision percentiles in hours."""
        begin, finish = period(start, end)
        pool = await read_pool(request, "negotiation")
        report = await reports.approvals(pool, request.user.tenant_id, group_by, begin, finish)
        return metric_reply(request, report, ApprovalMetricsItem, "approvals")
