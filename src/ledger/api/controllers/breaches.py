"""``GET /v1/compliance/breaches``: rules broken by recorded contacts."""

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
from ledger.api.schemas.queries import BreachItem, BreachPage
from ledger.projections import as_of_position, queries
from ledger.api.schemas.times import Instant
from ledger.services.keys import Role

# API.md's role table gives the breach report to supervisors (and admin) only: an auditor's
# row names metrics, history, verify, statement, audit trail and feed, and "anything else is
# 403" (auditors read breaches through the audit trail and history instead).
BREACH_ROLES = (Role.SUPERVISOR,)


class BreachController(Controller):
    """The compliance breach report."""

    parameters = MIN_POSITION
    path = "/v1/compliance/breaches"
    tags = ["compliance"]

    @get("/", operation_id="listBreaches", opt=auth.allow(*BREACH_ROLES),
         responses=responses())
    async def list_breaches(
        self, request: Request,
        start: Annotated[Instant | None, QueryParameter(name="from", description=(
            "Contacts that happened at or after this time (RFC 3339)."))] = None,
        end: Annotated[Instant | None, QueryParameter(name="to", description=(
            "Contacts that happened before this time (RFC 3339)."))] = None,
        rule: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=100)] = None,
        agent_id: Annotated[str | None, QueryParameter(pattern=TEXT, max_length=255)] = None,
        limit: Limit = 50, cursor: Cursor = None,
    ) -> BreachPage:
        """Recorded breaches in business-time order: rule, case, agent and both times."""
        after = parse_cursor("breaches", cursor, (datetime, UUID, int, int))
        pool = await read_pool(request, "compliance")
        as_of = await as_of_position(pool, "compliance")
        rows = await queries.breaches(pool, request.user.tenant_id, start=start, end=end,
                                      rule=rule, agent_id=agent_id, after=after,
                                      limit=limit + 1)
        items = [BreachItem(case_id=r["case_id"], version=r["version"], rule=r["rule"],
                            detail=r["detail"], agent_id=r["agent"], channel=r["channel"],
                            occurred_at=r["occurred_at"], recorded_at=r["recorded_at"])
                 for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = queries.encode_cursor("breaches", [
                last["occurred_at"], last["case_id"], last["version"], last["ordinal"]])
        return BreachPage(items, next_cursor, as_of)
