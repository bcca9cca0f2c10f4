"""Message templates: save (a new version under the same name) and preview for a case."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from ledger.api import auth
from ledger.api.commands import context
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent, run_once
from ledger.api.problems import ProblemError
from ledger.api.schemas.messages import Preview, PreviewRequest, SaveTemplate, TemplateSaved
from ledger.api.views import encode
from ledger.services.cases import Idempotency, Reply
from ledger.services.messages import MessageService, SavedTemplate, TemplateNotFound

TEMPLATE_EXAMPLE = {"name": "reminder", "channel": "sms", "locale": "en_US",
                    "body": "{{ agency_name }}: {{ debtor_name }}, your balance on "
                            "{{ external_ref }} is {{ balance }}. {{ opt_out }}"}
TEMPLATE_ROLES = auth.SUPERVISION


class TemplateController(Controller):
    """Versioned, sandboxed message templates (supervisor, admin)."""

    path = "/v1/templates"
    tags = ["messages"]

    @post("/", operation_id="saveTemplate", status_code=201,
          opt=auth.allow(*TEMPLATE_ROLES), responses=responses(409))
    async def save(
        self, request: Request,
        data: Annotated[SaveTemplate, Body(examples=[Example(value=TEMPLATE_EXAMPLE)])],
    ) -> TemplateSaved:
        """Save a template; the same ``name`` makes its next ``version``. ``422`` codes:
        ``unknown_field`` (a field outside the fixed list), ``opt_out_missing`` (an sms or
        email body without ``{{ opt_out }}`` on its own, outside any block), ``message_too_long`` (an sms over 10
        segments), ``invalid_request`` (not a template, a construct the sandbox refuses, an
        unknown locale, an email without a subject)."""
        service: MessageService = request.app.state.messages
        ctx = context(request)

        def render(saved: SavedTemplate) -> tuple[int, bytes]:
            return 201, encode(TemplateSaved(saved.template_id, saved.name, saved.version))

        async def action(idempotency: Idempotency | None) -> Reply:
            _, reply = await service.save_template(
                ctx, name=data.name, channel=data.channel, locale=data.locale,
                subject=data.subject, body=data.body, idempotency=idempotency, render=render)
            assert reply is not None
            return reply

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

    @post("/{name:str}/preview", operation_id="previewTemplate", status_code=200,
          opt=auth.allow(*TEMPLATE_ROLES, *auth.AGENT_WORK), responses=responses(404))
    async def preview(self, request: Request, name: FromPath[str],
                      data: Annotated[PreviewRequest, Body()]) -> Preview:
        """The latest version of template ``name`` rendered for a real case (nothing is
        recorded or sent). ``404`` for an unknown template or case. An `Idempotency-Key`
        is checked like on every POST, but no answer is kept (it holds personal data): a
        repeat renders again."""
        service: MessageService = request.app.state.messages

        async def action() -> tuple[int, bytes]:
            try:
                rendered = await service.preview(request.user.tenant_id, name, data.case_id)
            except TemplateNotFound:
                raise ProblemError(404, "not_found", "no template of that name") from None
            return 200, encode(Preview(rendered.subject, rendered.body))

        return await run_once(request, request.app.state.store,  # type: ignore[return-value]
                              request.user.tenant_id, action, read_only=True)
