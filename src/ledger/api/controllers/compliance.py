"""Contact permission: for one case, and in batches for dialers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, post, get
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, Parameter

from ledger.api import auth
from ledger.api.commands import context
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.problems import invalid
from ledger.api.schemas.facts import ChannelName
from ledger.api.schemas.compliance import (
    CasePermission,
    Permission,
    PermissionBatch,
    PermissionResults,
    ReasonView,
)
from ledger.api.views import encode
from ledger.domain.compliance import permission
from ledger.api.schemas.times import Instant
from ledger.services.cases import CaseService, Idempotency, Reply

NOT_FOUND = [ReasonView("not_found", "no such case in this tenant")]
BATCH_EXAMPLE = {"channel": "phone", "at": "2026-10-01T15:00:00Z",
                 "case_ids": ["1b4e28ba-2fa1-11d2-883f-0016d3cca427"]}


def _uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _aware(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None or at.utcoffset() is None:
        raise invalid("at", "must include a UTC offset")
    return at


class ContactPermissionController(Controller):
    """"May I contact now?": every blocking rule and the next allowed time."""

    path = "/v1"
    tags = ["compliance"]

    @get(
        "/cases/{case_id:uuid}/contact-permission", operation_id="getContactPermission",
        opt=auth.allow(*auth.AGENT_WORK), responses=responses(404),
    )
    async def one(
        self, request: Request, case_id: FromPath[UUID],
        channel: Annotated[ChannelName, Parameter(description="Channel to contact on")] = "phone",
        at: Annotated[Instant | None, Parameter(description="RFC 3339 time with an offset; default now")] = None,
    ) -> Permission:
        """May ``channel`` be used to contact the debtor at ``at`` (default now)?"""
        service: CaseService = request.app.state.cases
        when = _aware(at, service.clock())
        case = await service.load(request.user.tenant_id, case_id)
        decision = permission(case, channel, when)
        return Permission(
            decision.allowed, [ReasonView(r.rule, r.detail) for r in decision.reasons],
            decision.next_allowed_at,
        )

    @post(
        "/contact-permissions", operation_id="getContactPermissions", status_code=200,
        opt=auth.allow(*auth.AGENT_WORK), responses=responses(),
    )
    async def batch(
        self, request: Request,
        data: Annotated[PermissionBatch, Body(examples=[Example(value=BATCH_EXAMPLE)])],
    ) -> PermissionResults:
        """Permission for up to 1,000 cases in one call (one database round trip); unknown
        or other tenants' ids answer ``allowed: false`` with reason ``not_found``."""
        service: CaseService = request.app.state.cases
        ctx = context(request)

        async def action(_: Idempotency | None) -> Reply:
            ids = [_uuid_or_none(text) for text in data.case_ids]
            cases = await service.load_many(
                ctx.tenant_id, list(dict.fromkeys(i for i in ids if i is not None)))
            results = []
            for text, case_id in zip(data.case_ids, ids, strict=True):
                case = cases.get(case_id) if case_id is not None else None
                if case is None:
                    results.append(CasePermission(text if case_id is None else str(case_id),
                                                  False, NOT_FOUND, None))
                    continue
                decision = permission(case, data.channel, data.at)
                results.append(CasePermission(
                    str(case_id), decision.allowed,
                    [ReasonView(r.rule, r.detail) for r in decision.reasons],
                    decision.next_allowed_at,
                ))
            return Reply(200, encode(PermissionResults(results)))

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action
        )
