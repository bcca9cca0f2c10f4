"""What every write route does around the service: context, If-Match, idempotency, replies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request, Response
from litestar.types import Scope

from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.problems import ProblemError
from ledger.api.views import encode, fact_recorded
from ledger.domain.case import Case
from ledger.services.cases import CaseService, Context, Idempotency
from ledger.services.keys import ApiKey

REQUEST_ID = "request_id"


def request_id(scope: Scope) -> UUID:
    """This request's id (created on first use); also the events' correlation id."""
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    value = state.get(REQUEST_ID)
    if value is None:
        value = state[REQUEST_ID] = uuid.uuid4()
    return value  # type: ignore[no-any-return]


def context(request: Request) -> Context:
    key: ApiKey = request.user
    return Context(key.tenant_id, key.actor, request_id(request.scope))


def if_match(request: Request) -> int | None:
    """The version named by ``If-Match: "<version>"``; None without the header or for ``*``."""
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise ProblemError(412, "version_mismatch", "If-Match must be a case version as \"<n>\"")
    return int(tag)


def etag(version: int) -> str:
    return f'"{version}"'


async def record_fact(
    request: Request,
    case_id: UUID,
    command: Callable[[Case, datetime], Any],
    extra: Callable[[Any], dict[str, Any]] | None = None,
    *,
    replay_status: Callable[[Any], int] | None = None,
    reply: Callable[[Case, Any], tuple[int, Any]] | None = None,
) -> Response[bytes]:
    """Run ``command(case, now)`` on the case; reply ``201`` with :class:`FactRecorded`.

    ``extra(result)`` adds route-specific fields (new ids, breaches); ``replay_status(result)``
    lets a command that recognised a repeat (a payment's ``external_id``) answer ``200``;
    ``reply(case, result)`` replaces both with a status and body of the route's own.
    """
    state = request.app.state
    service: CaseService = state.cases
    ctx = context(request)
    expected = if_match(request)

    def render(case: Case, result: Any) -> tuple[int, bytes]:
        if reply is not None:
            status, custom = reply(case, result)
            return status, encode(custom)
        now = service.clock()
        body = fact_recorded(case, now, **(extra(result) if extra else {}))
        status = replay_status(result) if replay_status else 201
        return status, encode(body)

    async def action(idempotency: Idempotency | None) -> Any:
        return await service.execute(
            ctx, case_id, command, render, idempotency=idempotency, expected_version=expected
        )

    idempotency = await idempotency_of(request)
    return await run_idempotent(state.store, ctx.tenant_id, idempotency, action)
