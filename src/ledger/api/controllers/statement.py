"""``GET /v1/cases/{id}/statement``: the itemised balance that answers "I don't owe this"."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromPath

from ledger.api import auth
from ledger.api.docs import responses
from ledger.api.schemas.audit import Statement
from ledger.api.audit_access import STATEMENT, AsKnownAt, AsOf, load_case_at
from ledger.api.statement_view import statement


class StatementController(Controller):
    """Placed split, every payment, reversal, adjustment and waiver, running balance."""

    path = "/v1/cases/{case_id:uuid}/statement"
    tags = ["audit"]

    @get("/", operation_id="getCaseStatement", opt=auth.allow(*STATEMENT),
         responses=responses(404))
    async def get_statement(self, request: Request, case_id: FromPath[UUID], as_of: AsOf = None,
                            as_known_at: AsKnownAt = None) -> Statement:
        """Lines in business-time order with allocation and running balance; the final
        ``balance`` equals the case view's at the same ``as_of`` (default: now) and
        ``as_known_at``."""
        moment = as_of or request.app.state.cases.clock()
        found = await load_case_at(request, case_id, moment, as_known_at)
        return statement(found, moment)
