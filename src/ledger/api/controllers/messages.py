"""Messages of a case: queue one, read them, delivery reports, PDFs and the validation notice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath

from ledger.api import auth, paging
from ledger.api.commands import context, if_match
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, ProblemError
from ledger.api.schemas.compliance import ReasonView
from ledger.api.schemas.messages import (
    ContactRefused,
    DeliveryRecorded,
    DeliveryReport,
    ItemizationView,
    MessageList,
    MessageQueuedReply,
    MessageView,
    SendMessage,
    ValidationNoticeRequest,
)
from ledger.api.views import encode
from ledger.domain.case import Case
from ledger.domain.messaging.case_messages import ContactNotAllowed, QueuedMessage
from ledger.domain.messaging.records import MessageRecord
from ledger.messaging.content import open_content
from ledger.messaging.letters import render_letter_pdf
from ledger.messaging.sender import sending_state
from ledger.services.cases import CaseService, Idempotency, Reply
from ledger.services.messages import MessageService

SEND_ROLES = (*auth.SHARED_WRITES,)
READ_ROLES = (*auth.SHARED_WRITES, auth.Role.AUDITOR)
FIND_SQL = "SELECT case_id FROM message_outbox WHERE message_id = $1 AND tenant_id = $2"
SEND_EXAMPLE = {"template": "reminder"}
PDF = "application/pdf"


def contact_refused(_: Request, exc: ContactNotAllowed) -> Response[ContactRefused]:
    """``409 contact_not_allowed`` with every reason (exception handler of the app)."""
    body = ContactRefused(
        type=TYPE_BASE + exc.code, title="Conflict", status=409, detail=exc.detail,
        code=exc.code, reasons=[ReasonView(r.rule, r.detail) for r in exc.reasons])
    return Response(body, status_code=409, media_type=PROBLEM_MEDIA_TYPE)


def _itemization(record: MessageRecord) -> ItemizationView | None:
    item = record.itemization
    if item is None:
        return None
    return ItemizationView(item.itemization_date, item.itemization_amount, item.interest_since,
                           item.fees_since, item.payments_since, item.credits_since,
                           item.current_amount, item.validation_period_ends)


def _queued(case: Case, result: QueuedMessage) -> tuple[int, bytes]:
    item = _itemization(case.messages[result.message_id])
    return 201, encode(MessageQueuedReply(
        case.id, case.version, result.message_id, str(result.status), result.send_at,
        item.validation_period_ends if item else None, item))


async def message_view(request: Request, case: Case, record: MessageRecord) -> MessageView:
    key = (await request.app.state.data_keys.get([case.id])).get(case.id)
    content = open_content(key, case.id, case.tenant_id, record.content)
    item = _itemization(record)
    attempts, detail = record.attempts, record.detail
    if record.sent_at is None and record.failed_at is None:  # being sent: the outbox knows
        sending = await sending_state(request.app.state.pool, record.message_id)
        if sending is not None:
            attempts, detail = max(attempts, sending[0]), detail or sending[1]
    return MessageView(
        message_id=record.message_id, case_id=case.id, channel=str(record.channel),
        template=record.template, template_version=record.template_version,
        status=str(record.status), queued_at=record.queued_at, send_at=record.send_at,
        sent_at=record.sent_at, delivered_at=record.delivered_at, failed_at=record.failed_at,
        attempts=attempts, detail=detail,
        to=content.to if content else None, subject=content.subject if content else None,
        body=content.body if content else None, erased=content is None,
        validation_notice=item,
        validation_period_ends=item.validation_period_ends if item else None,
    )


async def find_message(request: Request, message_id: UUID) -> tuple[Case, MessageRecord]:
    """The case holding ``message_id`` in the caller's tenant; 404 otherwise."""
    tenant_id = request.user.tenant_id
    case_id = await request.app.state.pool.fetchval(FIND_SQL, message_id, tenant_id)
    if case_id is None:
        raise ProblemError(404, "not_found", "no such message")
    case = await request.app.state.cases.load(tenant_id, case_id)
    record = case.messages.get(message_id)
    if record is None:
        raise ProblemError(404, "not_found", "no such message")
    return case, record


class CaseMessageController(Controller):
    """Messages of one case."""

    path = "/v1/cases"
    tags = ["messages"]

    @post("/{case_id:uuid}/messages", operation_id="sendMessage", status_code=201,
          opt=auth.allow(*SEND_ROLES), responses=responses(404, 409, 412))
    async def send(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[SendMessage, Body(examples=[Example(value=SEND_EXAMPLE)])],
    ) -> MessageQueuedReply:
        """Queue the template for the debtor. ``queued``: sent now; ``scheduled``: contact
        is allowed only later (hours, daily limits), sent at ``send_at``. ``409
        contact_not_allowed`` with ``reasons`` when it can never be sent (cease, open dispute,
        hold, opt-out, closed case, no address). ``422``: unknown template, ``to`` not one of
        the debtor's addresses, ``message_too_long``."""
        service: MessageService = request.app.state.messages
        ctx = context(request)
        expected = if_match(request)

        async def action(idempotency: Idempotency | None) -> Reply:
            return await service.queue_message_reply(ctx, case_id, data.template, data.to,
                                                     _queued, idempotency=idempotency,
                                                     expected_version=expected)

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

    @get("/{case_id:uuid}/messages", operation_id="listCaseMessages",
         opt=auth.allow(*READ_ROLES), responses=responses(404))
    async def list_messages(self, request: Request, case_id: FromPath[UUID],
                            limit: paging.Limit = 50,
                            cursor: paging.Cursor = None) -> MessageList:
        """The case's messages, oldest first."""
        service: CaseService = request.app.state.cases
        case = await service.load(request.user.tenant_id, case_id)
        records, next_cursor = paging.page(
            "messages", list(case.messages.values()),
            lambda m: (m.queued_at, str(m.message_id)), (datetime, str), limit, cursor)
        return MessageList([await message_view(request, case, r) for r in records], next_cursor)

    @post("/{case_id:uuid}/validation-notice", operation_id="sendValidationNotice",
          status_code=201, opt=auth.allow(*SEND_ROLES), responses=responses(404, 409, 412))
    async def validation_notice(self, request: Request, case_id: FromPath[UUID],
                                data: Annotated[ValidationNoticeRequest, Body()]
                                ) -> MessageQueuedReply:
        """A Regulation F (§1006.34) validation notice letter mailed at ``sent_at``: its
        document itemises the debt since ``itemization_date`` and states
        ``validation_period_ends`` (sent date + 5 days not counting weekends and US federal
        holidays, + 30 days). Uses the tenant's letter template ``validation-notice`` if it
        has one, else a built-in text. A notice sent more than 5 days after the first
        right-party contact is recorded with a ``validation_notice_late`` breach."""
        service: MessageService = request.app.state.messages
        ctx = context(request)
        expected = if_match(request)

        async def action(idempotency: Idempotency | None) -> Reply:
            return await service.queue_validation_notice(
                ctx, case_id, sent_at=data.sent_at, itemization_date=data.itemization_date,
                render=_queued, idempotency=idempotency, expected_version=expected)

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)


class MessageController(Controller):
    """One message by id: its state, delivery reports and (letters) the PDF."""

    path = "/v1/messages"
    tags = ["messages"]

    @get("/{message_id:uuid}", operation_id="getMessage", opt=auth.allow(*READ_ROLES),
         responses=responses(404))
    async def read(self, request: Request, message_id: FromPath[UUID]) -> MessageView:
        """A message: status ``queued``, ``scheduled``, ``sent``, ``delivered``, ``failed``,
        ``bounced`` or ``returned``, with its content (null once erased)."""
        case, record = await find_message(request, message_id)
        return await message_view(request, case, record)

    @post("/{message_id:uuid}/events", operation_id="reportMessageEvent", status_code=201,
          opt=auth.allow(auth.Role.INTEGRATION), responses=responses(404, 409, 412))
    async def report(self, request: Request, message_id: FromPath[UUID],
                     data: Annotated[DeliveryReport, Body()]) -> DeliveryRecorded:
        """A provider's or print house's report. ``delivered`` also records an outbound
        contact with outcome ``delivered`` (contact log and metrics); a repeated report
        records nothing and answers the same. ``If-Match`` is the case's version (the
        report is a fact on the case)."""
        case, _ = await find_message(request, message_id)
        ctx = context(request)
        expected = if_match(request)
        cases: CaseService = request.app.state.cases

        def command(case: Case, now: datetime) -> None:
            case.record_delivery(message_id=message_id, status=data.status, at=data.at,
                                 detail=data.detail, now=now)

        def render(case: Case, _: None) -> tuple[int, bytes]:
            return 201, encode(DeliveryRecorded(case.id, case.version, message_id,
                                                str(case.messages[message_id].status)))

        async def action(idempotency: Idempotency | None) -> Reply:
            return await cases.execute(ctx, case.id, command, render, idempotency=idempotency,
                                       expected_version=expected)

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action)

    @get("/{message_id:uuid}/document", operation_id="getMessageDocument",
         opt=auth.allow(*READ_ROLES), media_type=PDF,
         responses={**responses(404, 409),
                    200: ResponseSpec(data_container=bytes, media_type=PDF,
                                      description="The letter as PDF", generate_examples=False)})
    async def document(self, request: Request, message_id: FromPath[UUID]) -> Response[bytes]:
        """The letter rendered to PDF on request (never stored): agency name, address block,
        reference, itemised amounts and a payment slip. ``409 not_a_letter`` for sms/email;
        ``409 personal_data_erased`` once the case was erased."""
        case, record = await find_message(request, message_id)
        if str(record.channel) != "letter":
            raise ProblemError(409, "not_a_letter", "only letters have a document")
        key = (await request.app.state.data_keys.get([case.id])).get(case.id)
        content = open_content(key, case.id, case.tenant_id, record.content)
        if content is None:
            raise ProblemError(409, "personal_data_erased",
                               "the letter's personal data was erased")
        pdf = render_letter_pdf(case, record, content, request.app.state.messages.agency_name)
        return Response(pdf, media_type=PDF, headers={
            "Content-Disposition": f'inline; filename="letter-{message_id}.pdf"',
            "Cache-Control": "no-store"})

