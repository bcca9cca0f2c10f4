"""``POST /v1/cases/{id}/erasure``: crypto-shred the debtor's personal data (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, post
from litestar.params import Body, FromPath

from ledger.api import auth
from ledger.api.commands import context, if_match
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.schemas.audit import EraseRequest, ErasureResult
from ledger.api.views import encode
from ledger.api.audit_access import ERASURE
from ledger.domain.case import Case
from ledger.privacy.erasure import erase
from ledger.services.cases import Idempotency, Reply


class ErasureController(Controller):
    """Erasure keeps every event and amount and the hash chain; only the key is destroyed."""

    path = "/v1/cases/{case_id:uuid}/erasure"
    tags = ["audit"]

    @post("/", operation_id="eraseCase", opt=auth.allow(*ERASURE), status_code=201,
          responses=responses(404, 409, 412))
    async def erase(self, request: Request, case_id: FromPath[UUID],
                    data: Annotated[EraseRequest, Body()]) -> ErasureResult:
        """Destroy the case's data key: name, phones, emails and address read as null with
        ``"erased": true`` everywhere from now on. ``409 already_erased`` on a second erasure."""
        state = request.app.state
        ctx = context(request)
        expected = if_match(request)

        def render(case: Case, erased_at: datetime) -> tuple[int, bytes]:
            return 201, encode(ErasureResult(case.id, case.version, True, erased_at))

        async def action(idempotency: Idempotency | None) -> Reply:
            return await erase(state.pool, state.data_keys, state.cases, ctx, case_id,
                               data.reason, render, idempotency=idempotency,
                               expected_version=expected)

        return await run_idempotent(  # type: ignore[return-value]
            state.store, ctx.tenant_id, await idempotency_of(request), action)
