"""``/v1/strategies``: save versioned contact strategies, activate them, read them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, JSONBody

from ledger.api import auth, paging
from ledger.api.commands import context
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.views import encode
from ledger.api.docs import responses
from ledger.api.problems import ProblemError
from ledger.api.schemas.strategies import (
    ActivateStrategy,
    SaveStrategy,
    StrategyActivated,
    StrategyList,
    StrategySaved,
    StrategyVersion,
    StrategyView,
)
from ledger.domain.strategy.aggregate import Strategy
from ledger.domain.strategy.document import StrategyDocument
from ledger.services.cases import Idempotency, Reply
from ledger.services.keys import Role
from ledger.services.strategies import StrategyNotFound, StrategyService

WRITERS = (Role.SUPERVISOR,)
STRATEGY_EXAMPLE = {
    "name": "cards-default", "portfolios": ["cards-2026q4"],
    "segments": [
        {"name": "early", "when": {"dpd_max": 30, "score": {"model": "behaviour", "min": 600}},
         "steps": [{"day": 0, "action": "sms", "template": "reminder", "auto": True},
                   {"day": 2, "action": "call"}, {"day": 7, "action": "letter", "template": "notice"}]},
        {"name": "late", "when": {"dpd_min": 91},
         "steps": [{"day": 0, "action": "call"}, {"day": 21, "action": "escalate"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]}],
    "challenger": {"split": 0.2, "segments": [
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "sms", "template": "reminder"},
                                               {"day": 1, "action": "call"}]}]},
}


async def known_templates(request: Request, document: StrategyDocument) -> dict[str, str] | None:
    """The channel of each saved template ``document`` names, by name (None: unchecked,
    when no template store is wired)."""
    channel_of = getattr(request.app.state, "template_channel", None)
    if channel_of is None:
        return None
    named = {step.template for segments in (
        document.segments, document.challenger.segments if document.challenger else ())
        for segment in segments for step in segment.steps if step.template}
    channels = {name: await channel_of(request.user.tenant_id, name) for name in sorted(named)}
    return {name: channel for name, channel in channels.items() if channel is not None}


def view(strategy: Strategy) -> StrategyView:
    current = strategy.active_version or strategy.latest_version
    return StrategyView(
        strategy_id=strategy.id, name=strategy.name, active_version=strategy.active_version,
        latest_version=strategy.latest_version,
        portfolios=list(strategy.versions[current].portfolios),
        versions=[
            StrategyVersion(number, strategy.status_of(number), strategy.saved_at[number],
                            strategy.activated_at.get(number),
                            msgspec.convert(msgspec.to_builtins(document), SaveStrategy))
            for number, document in sorted(strategy.versions.items())
        ],
    )


class StrategyController(Controller):
    """Contact strategies: segments of cases and the steps to take with each."""

    path = "/v1/strategies"
    tags = ["strategies"]

    @post("/", operation_id="saveStrategy", status_code=201, opt=auth.allow(*WRITERS),
          responses=responses(422))
    async def save(
        self, request: Request,
        data: Annotated[SaveStrategy, Body(examples=[Example(value=STRATEGY_EXAMPLE)])],
    ) -> Response[StrategySaved]:
        """Save a strategy as a draft version (the same ``name`` again makes its next version).
        Refused with ``422`` and the field at fault when it cannot be evaluated: no segments, no
        catch-all segment, steps out of day order, a template not saved (``POST /v1/templates``) or of
        another channel than its step's action. A score model never
        recorded for the tenant is allowed and named in ``warnings``."""
        service: StrategyService = request.app.state.strategies
        document = msgspec.convert(msgspec.to_builtins(data), StrategyDocument)
        templates = await known_templates(request, document)
        ctx = context(request)

        def render(strategy: Strategy, warnings: list[str]) -> tuple[int, bytes]:
            version = strategy.latest_version
            return 201, encode(StrategySaved(strategy.id, version, strategy.status_of(version),
                                             warnings))

        async def action(idempotency: Idempotency | None) -> Reply:
            *_, reply = await service.save(ctx, document, templates=templates,
                                           idempotency=idempotency, render=render)
            assert reply is not None
            return reply

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

    @post("/{strategy_id:uuid}/activation", operation_id="activateStrategy", status_code=201,
          opt=auth.allow(*WRITERS), responses=responses(200, 404, 409, 422,
                                                             ok=StrategyActivated,
                                                             ok_description="Already active"))
    async def activate(self, request: Request, strategy_id: FromPath[UUID],
                       data: JSONBody[ActivateStrategy | None] = None) -> Response[StrategyActivated]:
        """Put a version (default: the latest) in force for its portfolios, replacing the
        version active before; existing cases are re-segmented. ``409 strategy_conflict``
        when another strategy is active for one of its portfolios."""
        service: StrategyService = request.app.state.strategies
        ctx = context(request)

        async def action(_: Idempotency | None) -> Reply:
            try:
                latest = (await service.get(ctx.tenant_id, strategy_id)).latest_version
                version = data.version if data is not None and data.version is not None else latest
                strategy, changed = await service.activate(ctx, strategy_id, version)
            except StrategyNotFound:
                raise ProblemError(404, "not_found", "no such strategy") from None
            body = StrategyActivated(strategy.id, version, strategy.status_of(version))
            return Reply(201 if changed else 200, encode(body))

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

    @get("/", operation_id="listStrategies", opt=auth.allow(*auth.EVERYONE),
         responses=responses())
    async def list_strategies(self, request: Request, limit: paging.Limit = 50,
                              cursor: paging.Cursor = None) -> StrategyList:
        """The tenant's strategies with their versions, by name."""
        service: StrategyService = request.app.state.strategies
        found, next_cursor = paging.page("strategies", await service.all(request.user.tenant_id),
                                         lambda s: (s.name,), (str,), limit, cursor)
        return StrategyList([view(s) for s in found], next_cursor)

    @get("/{strategy_id:uuid}", operation_id="getStrategy", opt=auth.allow(*auth.EVERYONE),
         responses=responses(404))
    async def get_strategy(self, request: Request, strategy_id: FromPath[UUID]) -> StrategyView:
        """One strategy: its versions, each with its status (draft, active, retired)."""
        service: StrategyService = request.app.state.strategies
        try:
            return view(await service.get(request.user.tenant_id, strategy_id))
        except StrategyNotFound:
            raise ProblemError(404, "not_found", "no such strategy") from None
