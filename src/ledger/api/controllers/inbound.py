"""Inbound messages (opt-outs) and the print house's list of letters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import Body, QueryParameter

from ledger.api import auth
from ledger.api.commands import context
from ledger.api.controllers.case_list import parse_cursor
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_idempotent
from ledger.api.problems import invalid
from ledger.api.schemas.messages import (
    EmailUnsubscribe,
    InboundSms,
    LetterItem,
    LetterList,
    OptOutResult,
)
from ledger.api.views import encode
from ledger.domain.case import Case
from ledger.domain.errors import CaseClosed
from ledger.domain.messaging.optout import e164, is_opt_out, normalise_email
from ledger.domain.timeutil import aware_utc, not_in_future
from ledger.messaging.addresses import cases_holding
from ledger.projections.queries import encode_cursor
from ledger.services.cases import CaseNotFound, CaseService, Context, Idempotency, Reply

INBOUND_ROLES = (auth.Role.INTEGRATION,)
LETTER_ROLES = (auth.Role.INTEGRATION, auth.Role.SUPERVISOR)
LETTERS_SQL = """
    SELECT message_id, case_id, send_at FROM message_outbox
    WHERE tenant_id = $1 AND channel = 'letter' AND send_at >= $2 AND send_at < $3
      AND ($4::timestamptz IS NULL OR (send_at, message_id) > ($4, $5::uuid))
    ORDER BY send_at, message_id LIMIT $6
"""


def _no_body(case: Case, result: Any) -> tuple[int, bytes]:
    return 200, b""


async def _opt_out_all(request: Request, ctx: Context, case_ids: list[UUID], channel: str,
                       received_at: datetime, source: str) -> list[UUID]:
    cases: CaseService = request.app.state.cases
    done = []
    for case_id in case_ids:
        def command(case: Case, now: datetime) -> bool:
            return case.opt_out(channel=channel, received_at=received_at, source=source, now=now)

        try:
            await cases.execute(ctx, case_id, command, _no_body)
        except CaseNotFound:
            continue
        done.append(case_id)
    return done


def _check_time(received_at: datetime, now: datetime) -> None:
    """``received_at`` is checked whether or not a case holds the address: the same request
    gets the same answer, naming the field it sent."""
    not_in_future(aware_utc(received_at, "received_at"), now, "received_at")


class InboundController(Controller):
    """Replies and unsubscribes from debtors, forwarded by the providers (integration)."""

    path = "/v1/inbound"
    tags = ["messages"]

    @post("/sms", operation_id="receiveInboundSms", status_code=200,
          opt=auth.allow(*INBOUND_ROLES), responses=responses())
    async def sms(self, request: Request, data: Annotated[InboundSms, Body()]) -> OptOutResult:
        """A text from a debtor. ``STOP`` (or ``stopall``, ``unsubscribe``, ``cancel``,
        ``end``, ``quit``, ``revoke``, ``opt out``; trimmed, any case) opts the number out of
        sms on every case of the tenant holding it (numbers compared in E.164; event
        ``ChannelOptedOut``); any other text is recorded as an inbound sms contact on those
        cases. ``422`` if ``from`` is not a number in E.164."""
        # The document's pattern is E.164; one phonenumbers thinks impossible for its country
        # holds no case, so it is compared as written rather than refused.
        number = e164(data.from_) or data.from_
        ctx = context(request)
        state = request.app.state
        _check_time(data.received_at, state.cases.clock())
        holding = await cases_holding(state.pool, state.messaging.address_key, ctx.tenant_id,
                                      "sms", number)

        async def action(idempotency: Idempotency | None) -> Reply:
            if is_opt_out(data.text):
                done = await _opt_out_all(request, ctx, holding, "sms", data.received_at,
                                          "inbound_sms")
                return Reply(200, encode(OptOutResult(done, [])))
            recorded = []
            for case_id in holding:
                def command(case: Case, now: datetime) -> None:
                    case.record_contact(channel="sms", direction="inbound",
                                        outcome="right_party", occurred_at=data.received_at,
                                        now=now)
                try:
                    await state.cases.execute(ctx, case_id, command, _no_body)
                except (CaseNotFound, CaseClosed):
                    continue
                recorded.append(case_id)
            return Reply(200, encode(OptOutResult([], recorded)))

        return await run_idempotent(  # type: ignore[return-value]
            state.store, ctx.tenant_id, await idempotency_of(request), action)

    @post("/email-unsubscribe", operation_id="receiveEmailUnsubscribe", status_code=200,
          opt=auth.allow(*INBOUND_ROLES), responses=responses())
    async def email(self, request: Request,
                    data: Annotated[EmailUnsubscribe, Body()]) -> OptOutResult:
        """Opt the address out of email on every case of the tenant holding it (compared
        case-insensitively). ``received_at`` defaults to now."""
        address = normalise_email(data.email)
        if address is None:
            raise invalid("email", "not an email address")
        ctx = context(request)
        state = request.app.state
        received_at = data.received_at or state.cases.clock()
        _check_time(received_at, state.cases.clock())
        holding = await cases_holding(state.pool, state.messaging.address_key, ctx.tenant_id,
                                      "email", address)

        async def action(idempotency: Idempotency | None) -> Reply:
            done = await _opt_out_all(request, ctx, holding, "email", received_at,
                                      "email_unsubscribe")
            return Reply(200, encode(OptOutResult(done, [])))

        return await run_idempotent(  # type: ignore[return-value]
            state.store, ctx.tenant_id, await idempotency_of(request), action)


class LetterController(Controller):
    """The day's letters for the print house (integration, supervisor, admin)."""

    path = "/v1/letters"
    tags = ["messages"]

    @get("/", operation_id="listLetters", opt=auth.allow(*LETTER_ROLES),
         responses=responses())
    async def letters(
        self, request: Request,
        date_: Annotated[date, QueryParameter(name="date",
                                              description="Mailing day (UTC), YYYY-MM-DD")],
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Page size, 1–500.")] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> LetterList:
        """Letters to mail on ``date`` (their ``send_at`` falls on it, UTC), oldest first;
        fetch each PDF from its ``document`` path."""
        after = parse_cursor("letters", cursor, (datetime, UUID))
        start = datetime.combine(date_, time(), UTC)
        after_at, after_id = after if after else (None, None)
        rows = await request.app.state.pool.fetch(
            LETTERS_SQL, request.user.tenant_id, start, start + timedelta(days=1), after_at,
            after_id, limit + 1)
        state = request.app.state
        cases = await state.cases.load_many(request.user.tenant_id,
                                            list({r["case_id"] for r in rows[:limit]}))
        items = []
        for row in rows[:limit]:
            case = cases.get(row["case_id"])
            record = case.messages.get(row["message_id"]) if case is not None else None
            if record is None:
                continue
            items.append(LetterItem(row["message_id"], row["case_id"], record.template,
                                    row["send_at"],
                                    f"/v1/messages/{row['message_id']}/document"))
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor("letters", [last["send_at"].isoformat(),
                                                    str(last["message_id"])])
        return LetterList(items, next_cursor)
