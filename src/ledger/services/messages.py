"""Message application services: templates, and queueing a message for a case.

``MessageService.queue_message`` is the one way a message is created — by the API, by
strategies (``auto: true`` steps) and by the validation notice — so every message is gated by
contact permission and opt-outs, rendered in the sandbox, sealed with the case's data key, and
written to the outbox in the same transaction as its ``MessageQueued`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from uuid import UUID

import asyncpg
import msgspec

from ledger.audit.timetravel import case_at
from ledger.domain.allocation import CHARGE, INTEREST_WAIVER, allocate, signed_change
from ledger.domain.case import Case
from ledger.domain.errors import InvalidRequest
from ledger.domain.messaging.case_messages import QueuedMessage
from ledger.domain.messaging.fields import MessageChannel
from ledger.domain.messaging.itemization import Movement, itemize
from ledger.domain.messaging.optout import e164, normalise_email
from ledger.domain.messaging.records import Itemization
from ledger.domain.messaging.rendering import Rendered, render_message, template_values
from ledger.domain.messaging.template import Template, template_id_for
from ledger.domain.messaging.validation_period import validation_period_ends
from ledger.domain.timeutil import aware_utc, local_instant, not_in_future, zone
from ledger.eventstore import AggregateNotFound, ConcurrencyConflict, IdempotencyRecord
from ledger.messaging.content import MessageContent, seal_content
from ledger.privacy import DataKeys
from ledger.services.cases import CaseService, Context, Idempotency, Reply, Render

DEFAULT_AGENCY_NAME = "Ledger Collections"
VALIDATION_NOTICE_TEMPLATE = "validation-notice"
# A validation notice reports a letter already mailed (a fact): without a postal address on
# file it is still recorded, its address block saying so, rather than refused.
ADDRESS_NOT_ON_FILE = "Address not on file"
"""Name of the tenant's letter template used for validation notices (a built-in one if none)."""
BUILTIN_VALIDATION_NOTICE = (
    "{{ agency_name }} is a debt collector. We are trying to collect a debt that you owe. "
    "We will use any information you give us to help collect the debt.\n"
    "Reference: {{ external_ref }}\n"
    "As of {{ itemization_date }}, you owed: {{ itemization_amount }}\n"
    "Between {{ itemization_date }} and today:\n"
    "  You were charged this amount in interest: + {{ interest_since }}\n"
    "  You were charged this amount in fees: + {{ fees_since }}\n"
    "  You paid or were credited this amount toward the debt: - {{ payments_since }}\n"
    "  Credits: - {{ credits_since }}\n"
    "Total amount of the debt now: {{ current_amount }}\n"
    "Call or write to us by {{ validation_period_ends }} to dispute all or part of the debt. "
    "If you do not, we will assume that our information is correct."
)
OUTBOX_SQL = """
    INSERT INTO message_outbox (message_id, tenant_id, case_id, channel, send_at, state,
                                next_attempt_at)
    VALUES ($1, $2, $3, $4, $5, $6, $5)
    ON CONFLICT (message_id) DO NOTHING
"""
MAX_SAVE_ATTEMPTS = 8


class TemplateNotFound(Exception):
    """No template of that name in this tenant."""


class SavedTemplate(msgspec.Struct, frozen=True):
    template_id: UUID
    name: str
    version: int


def _recipient(case: Case, channel: MessageChannel, to: str | None) -> str | None:
    """The debtor's address for ``channel`` (``to`` must be one of them); None if none."""
    debtor = case.debtor
    if debtor is None or debtor.erased:
        known: list[str] = []
    elif channel is MessageChannel.SMS:
        known = [n for n in (e164(p) for p in debtor.phones) if n]
    elif channel is MessageChannel.EMAIL:
        known = [e for e in (normalise_email(a) for a in debtor.emails) if e]
    else:
        known = [debtor.address] if debtor.address else []
    if to is None:
        return known[0] if known else None
    wanted = e164(to) if channel is MessageChannel.SMS else (
        normalise_email(to) if channel is MessageChannel.EMAIL else to)
    if wanted is None or wanted not in known:
        raise InvalidRequest("to", f"not one of the debtor's {channel} addresses")
    return wanted


def movements(case: Case | None) -> list[Movement]:
    """Balance movements of ``case`` (for the itemisation), allocated in business time."""
    if case is None:
        return []
    found = []
    for moved, share in allocate(case.placed_components(), case.movements).lines:
        kind = {CHARGE: "interest" if moved.interest else "fee",
                INTEREST_WAIVER: "waiver"}.get(moved.kind, moved.kind)
        found.append(Movement(moved.at, kind, signed_change(moved, share)))
    return found


class MessageService:
    """Templates and message queueing for the API, strategies and the validation notice."""

    def __init__(self, cases: CaseService, data_keys: DataKeys, *,
                 agency_name: str = DEFAULT_AGENCY_NAME) -> None:
        self.cases = cases
        self.repository = cases.repository
        self.data_keys = data_keys
        self.agency_name = agency_name

    # ---- templates ----------------------------------------------------------------

    async def save_template(self, ctx: Context, *, name: str, channel: str, locale: str,
                            subject: str | None, body: str,
                            idempotency: Idempotency | None = None,
                            render: Callable[[SavedTemplate], tuple[int, bytes]] | None = None,
                            ) -> tuple[SavedTemplate, Reply | None]:
        """Create the template or, if the name exists, its next version."""
        for _ in range(MAX_SAVE_ATTEMPTS):
            now = self.cases.clock()
            try:
                template = await self.load_template(ctx.tenant_id, name)
                template.revise(channel=channel, locale=locale, subject=subject, body=body,
                                saved_at=now)
            except TemplateNotFound:
                template = Template.create(tenant_id=ctx.tenant_id, name=name, channel=channel,
                                           locale=locale, subject=subject, body=body,
                                           saved_at=now)
            saved = SavedTemplate(template.id, template.name, template.version)
            record = reply = None
            if render is not None:
                status, body_bytes = render(saved)
                reply = Reply(status, body_bytes, recorded=idempotency is not None)
                if idempotency is not None:
                    record = IdempotencyRecord(idempotency.key, idempotency.request_hash,
                                               status, body_bytes)
            try:
                await self.repository.save(template, tenant_id=ctx.tenant_id, actor=ctx.actor,
                                           correlation_id=ctx.correlation_id,
                                           idempotency=record)
            except ConcurrencyConflict:
                continue  # someone saved the same name meanwhile: revise their version
            return saved, reply
        raise ConcurrencyConflict("the template kept changing", ())

    async def load_template(self, tenant_id: str, name: str) -> Template:
        if not isinstance(name, str) or not name or len(name) > 100:
            raise TemplateNotFound(name)
        try:
            found = await self.repository.load(template_id_for(tenant_id, name),
                                               tenant_id=tenant_id)
        except AggregateNotFound:
            raise TemplateNotFound(name) from None
        if not isinstance(found, Template) or found.tenant_id != tenant_id:
            raise TemplateNotFound(name)
        return found

    async def template_channel(self, tenant_id: str, name: str) -> str | None:
        """For strategies: the channel of the tenant's template ``name`` (None: no such
        template), which a step sending it must be."""
        try:
            return str((await self.load_template(tenant_id, name)).channel)
        except TemplateNotFound:
            return None

    async def preview(self, tenant_id: str, name: str, case_id: UUID) -> Rendered:
        """The template rendered for a real case (nothing recorded)."""
        template = await self.load_template(tenant_id, name)
        case = await self.cases.load(tenant_id, case_id)
        values = template_values(case, template.channel, template.locale, self.agency_name)
        return render_message(template.channel, template.subject, template.body, values)

    # ---- messages -----------------------------------------------------------------

    async def queue_message(self, ctx: Context, case_id: UUID, template: str,
                            to: str | None = None) -> QueuedMessage:
        """Queue ``template`` for the case: the call strategies make for ``auto: true`` steps.

        Returns ``QueuedMessage(message_id, status, send_at)`` with status ``queued`` (sent
        as soon as the sender picks it up) or ``scheduled`` (contact is allowed only later,
        e.g. outside hours; sent at ``send_at``). Raises ``ContactNotAllowed`` (``.reasons``)
        when it can never be sent (cease, dispute, hold, opt-out, closed, no address),
        ``TemplateNotFound``, ``CaseNotFound``, or ``InvalidRequest`` (``to`` not the debtor's,
        sms too long). ``ctx.actor`` is recorded on the event (e.g. ``system:strategy``).
        """
        reply, queued = await self._queue(ctx, case_id, template, to)
        return queued

    async def queue_message_reply(self, ctx: Context, case_id: UUID, template: str,
                                  to: str | None, render: Render, *,
                                  idempotency: Idempotency | None = None,
                                  expected_version: int | None = None) -> Reply:
        reply, _ = await self._queue(ctx, case_id, template, to, render=render,
                                     idempotency=idempotency, expected_version=expected_version)
        return reply

    async def queue_validation_notice(self, ctx: Context, case_id: UUID, *, sent_at: datetime,
                                      itemization_date: date, render: Render,
                                      idempotency: Idempotency | None = None,
                                      expected_version: int | None = None) -> Reply:
        """A Regulation F validation notice letter mailed at ``sent_at``."""
        sent_at = aware_utc(sent_at, "sent_at")
        not_in_future(sent_at, self.cases.clock(), "sent_at")
        case = await self.cases.load(ctx.tenant_id, case_id)
        if itemization_date > sent_at.astimezone(zone(case.timezone)).date():
            raise InvalidRequest("itemization_date", "must not be after sent_at")
        history = await case_at(self.repository.store, self.repository.codec,
                                self.repository.cipher, ctx.tenant_id, case_id)
        cutoff = local_instant(itemization_date, time(23, 59, 59, 999999), case.timezone)
        sent_on = sent_at.astimezone(zone(case.timezone)).date()
        itemization = itemize(case.placed_balance, movements(history.case if history else None),
                              cutoff, itemization_date, validation_period_ends(sent_on))
        reply, _ = await self._queue(ctx, case_id, VALIDATION_NOTICE_TEMPLATE, None,
                                     render=render, idempotency=idempotency,
                                     expected_version=expected_version,
                                     itemization=itemization, send_from=sent_at,
                                     builtin=BUILTIN_VALIDATION_NOTICE)
        return reply

    async def _queue(self, ctx: Context, case_id: UUID, template_name: str, to: str | None, *,
                     render: Render | None = None, idempotency: Idempotency | None = None,
                     itemization: Itemization | None = None, send_from: datetime | None = None,
                     builtin: str | None = None,
                     expected_version: int | None = None) -> tuple[Reply, QueuedMessage]:
        try:
            template = await self.load_template(ctx.tenant_id, template_name)
            channel, locale, subject, body, version = (
                template.channel, template.locale, template.subject, template.body,
                template.version)
        except TemplateNotFound:
            if builtin is None:
                # An unknown case is 404 whatever the body says (another tenant's case too).
                await self.cases.load(ctx.tenant_id, case_id)
                raise InvalidRequest("template", "no template of that name") from None
            channel, locale, subject, body, version = (
                MessageChannel.LETTER, "en_US", "Validation notice", builtin, 0)
        if itemization is not None and channel is not MessageChannel.LETTER:
            raise InvalidRequest("template", f"`{template_name}` must be a letter template")
        key = (await self.data_keys.get([case_id])).get(case_id)
        tenant_id = ctx.tenant_id
        queued: list[QueuedMessage] = []

        def command(case: Case, now: datetime) -> QueuedMessage:
            recipient = _recipient(case, channel, to)
            debtor = case.debtor
            if (recipient is None and itemization is not None and debtor is not None
                    and not debtor.erased):
                recipient = ADDRESS_NOT_ON_FILE
            values = template_values(case, channel, locale, self.agency_name, itemization)
            rendered = render_message(channel, subject, body, values)
            sealed = ""
            if recipient is not None and key is not None:
                debtor = case.debtor
                sealed = seal_content(key, case.id, tenant_id, MessageContent(
                    to=recipient, subject=rendered.subject, body=rendered.body,
                    debtor_name=debtor.name if debtor else None,
                    address=debtor.address if debtor else None))
            result = case.queue_message(
                channel=channel, template=template_name, template_version=version,
                content=sealed, has_address=bool(sealed), now=now, send_from=send_from,
                itemization=itemization)
            queued[:] = [result]
            return result

        async def outbox(conn: asyncpg.Connection, case: Case, result: QueuedMessage) -> None:
            state = "letter" if channel is MessageChannel.LETTER else "pending"
            await conn.execute(OUTBOX_SQL, result.message_id, tenant_id, case.id, str(channel),
                               result.send_at, state)

        reply = await self.cases.execute(
            ctx, case_id, command, render or (lambda case, result: (201, b"")),
            idempotency=idempotency, expected_version=expected_version, also=outbox)
        return reply, queued[0]
