"""``GET /v1/audit``: the audit trail across cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from ledger.api import auth
from ledger.api.read_side import MIN_POSITION, read_pool
from ledger.api.controllers.case_list import TEXT, Cursor, Limit, parse_cursor
from ledger.api.docs import responses
from ledger.api.schemas.queries import AuditItem, AuditPage
from ledger.projections import as_of_position, queries
from ledger.api.schemas.times import Instant
from ledger.services.keys import Role

# Supervisors read one case's history; the cross-case trail is for auditors (and admins).
AUDIT_ROLES = (Role.AUDITOR,)


class AuditTrailController(Controller):
    """Who did what, when, across all cases of the tenant."""

    parameters = MIN_POSITION
    path = "/v1/audit"
    tags = ["audit"]

    @get("/", operation_id="auditTrail", opt=auth.allow(*AUDIT_ROLES),
         responses=responses())
    async def audit_trail(
        self, request: Request,
        actor: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=255, description=(
            "`key:<id>` (every event recorded with that key, bound or not), `agent:<id>` "
            "(every event recorded by a key bound to that agent) or a whole actor, e.g. "
            "`key:<id>/agent:<id>` or `system:scheduler`."))] = None,
        type: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=100, description=(
            "Event type, e.g. `PaymentReceived`."))] = None,
        case_id: FromQuery[UUID | None] = None,
        start: Annotated[Instant | None, QueryParameter(name="from", description=(
            "Events recorded at or after this time (RFC 3339)."))] = None,
        end: Annotated[Instant | None, QueryParameter(name="to", description=(
            "Events recorded before this time (RFC 3339)."))] = None,
        limit: Limit = 50, cursor: Cursor = None,
    ) -> AuditPage:
        """One entry per event, oldest first: actor, type, business and record time, amount,
        case. The event data itself is in the case's history."""
        after = parse_cursor("audit", cursor, (int,))
        pool = await read_pool(request, "audit")
        as_of = await as_of_position(pool, "audit")
        rows = await queries.audit_trail(
            pool, request.user.tenant_id, actor=actor, event_type=type, case_id=case_id,
            start=start, end=end, after_seq=after[0] if after else 0, limit=limit + 1)
        items = [AuditItem(position=r["position"], case_id=r["case_id"], version=r["version"],
                           type=r["type"], actor=r["actor"], occurred_at=r["occurred_at"],
                           recorded_at=r["recorded_at"], amount=r["amount"],
                           correlation_id=r["correlation_id"]) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = queries.encode_cursor("audit", [rows[limit - 1]["seq"]])
        return AuditPage(items, next_cursor, as_of)
