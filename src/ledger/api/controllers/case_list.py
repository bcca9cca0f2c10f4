"""``GET /v1/cases``: the case list read model, filtered and paged by keyset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.docs import responses
from ledger.api.problems import invalid
from ledger.api.schemas.queries import CasePage, CaseSummary, PromiseSummary
from ledger.domain.delinquency import bucket_for
from ledger.domain.values import CaseStatus
from ledger.projections import as_of_position, queries
from ledger.projections.metric_queries import BUCKET_LABELS
from ledger.services.keys import Role

CASE_LISTS = (Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR)
STATUSES = [s.value for s in CaseStatus]
TEXT = r"^[^\x00]*$"
"""Free-text filters: anything PostgreSQL can compare (text cannot hold NUL)."""
# Literal types, so the OpenAPI document lists the accepted values (schemathesis, clients).
StatusName = Literal[tuple(STATUSES)]  # type: ignore[valid-type]
BucketName = Literal[tuple(BUCKET_LABELS)]  # type: ignore[valid-type]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size, 1–500.")]
Cursor = Annotated[str | None, QueryParameter(max_length=512,
                                         description="`next_cursor` of the previous page.")]


def case_summary(record: asyncpg.Record) -> CaseSummary:
    """The list view of one rm_cases row (read with ``queries.CASE_FIELDS``)."""
    promise = None
    if record["promise_id"] is not None:
        promise = PromiseSummary(record["promise_id"], record["promise_amount"],
                                 record["promise_due"], record["promise_status"])
    dpd = record["dpd"]
    return CaseSummary(
        case_id=record["case_id"], version=record["version"],
        external_ref=record["external_ref"], portfolio=record["portfolio"],
        product=record["product"], status=record["status"], currency=record["currency"],
        placed_balance=record["placed_amount"], balance=record["balance"],
        principal=record["principal"], interest=record["interest"], fees=record["fees"],
        credit=record["principal"] + record["interest"] + record["fees"] - record["balance"],
        paid_total=record["paid_total"], days_past_due=dpd,
        dpd_bucket=bucket_for(dpd), assigned_to=record["assigned_to"], active_promise=promise,
        last_contact_at=record["last_contact_at"], placed_at=record["placed_at"],
        closed_at=record["closed_at"], close_reason=record["close_reason"],
    )


def parse_cursor(kind: str, cursor: str | None, types: tuple[type, ...]) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        return queries.decode_cursor(kind, cursor, types)
    except queries.BadCursor:
        raise invalid("cursor", "not a cursor of this list") from None


class CaseListController(Controller):
    """Case lists for supervisors, analysts and auditors."""

    parameters = MIN_POSITION
    path = "/v1/cases"
    tags = ["cases"]

    @get("/", operation_id="listCases", opt=auth.allow(*CASE_LISTS), responses=responses())
    async def list_cases(
        self, request: Request,
        status: Annotated[StatusName | None, QueryParameter(description="The case's status now.")] = None,
        portfolio: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=255)] = None,
        assigned_to: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=255)] = None,
        dpd_bucket: Annotated[BucketName | None, QueryParameter(
            description="Days-past-due bucket now.")] = None,
        external_ref: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=255)] = None,
        limit: Limit = 50, cursor: Cursor = None,
    ) -> CasePage:
        """Cases of the key's tenant in placement order, from the ``cases`` read model.
        Status, days past due and bucket are judged now. ``as_of_position`` tells how many
        feed events the list includes."""
        if status is not None and status not in STATUSES:
            raise invalid("status", "must be one of " + ", ".join(STATUSES))
        if dpd_bucket is not None and dpd_bucket not in BUCKET_LABELS:
            raise invalid("dpd_bucket", "must be one of " + ", ".join(BUCKET_LABELS))
        after = parse_cursor("cases", cursor, (datetime, UUID))
        pool = await read_pool(request, "cases")
        as_of = await as_of_position(pool, "cases")
        now = request.app.state.cases.clock()
        rows = await queries.list_cases(
            pool, request.user.tenant_id, now, status=status, portfolio=portfolio,
            assigned_to=assigned_to, dpd_bucket=dpd_bucket, external_ref=external_ref,
            after=after, limit=limit + 1)
        items = [case_summary(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = queries.encode_cursor("cases", [last["placed_at"], last["case_id"]])
        return CasePage(items, next_cursor, as_of)
