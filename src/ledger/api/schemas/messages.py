"""Bodies of the message routes: templates, messages, delivery reports, opt-outs, letters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.api.problems import Problem
from ledger.api.schemas.common import Day, Instant, Request
from ledger.api.schemas.compliance import ReasonView

TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=100,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                                           description="Letters, digits, `.`, `_`, `-`.")]
TemplateChannel = Literal["sms", "email", "letter"]
Locale = Annotated[str, msgspec.Meta(min_length=2, max_length=35,
                                     pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$",
                                     description="A locale such as `en_US` (money format).")]


class SaveTemplate(Request, kw_only=True):
    """A template body is a sandboxed template over the fixed field list: ``debtor_name``,
    ``balance``, ``currency``, ``external_ref``, ``promise_amount``, ``promise_due_date``,
    ``agency_name``, ``opt_out`` and the validation-notice fields ``itemization_date``,
    ``itemization_amount``, ``interest_since``, ``fees_since``, ``payments_since``,
    ``credits_since``, ``current_amount``, ``validation_period_ends``."""

    name: TemplateName
    channel: TemplateChannel
    locale: Locale = "en_US"
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] | None = None
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=50_000)]


class TemplateSaved(msgspec.Struct, frozen=True):
    template_id: UUID
    name: str
    version: int


class PreviewRequest(Request):
    case_id: UUID


class Preview(msgspec.Struct, frozen=True):
    subject: str | None
    body: str


class SendMessage(Request):
    template: TemplateName
    to: Annotated[str, msgspec.Meta(min_length=1, max_length=320,
                                    description="One of the debtor's addresses on the "
                                                "template's channel (default: the first).")] | None = None


class ItemizationView(msgspec.Struct, frozen=True):
    itemization_date: date
    itemization_amount: int
    interest_since: int
    fees_since: int
    payments_since: int
    credits_since: int
    current_amount: int
    validation_period_ends: date


class MessageQueuedReply(msgspec.Struct, frozen=True, omit_defaults=True):
    """``queued`` (sent as soon as possible) or ``scheduled`` (at ``send_at``). A validation
    notice also states ``validation_period_ends`` and its ``itemization``."""

    case_id: UUID
    version: int
    message_id: UUID
    status: str
    send_at: datetime
    validation_period_ends: date | None = None
    itemization: ItemizationView | None = None


class MessageView(msgspec.Struct, frozen=True):
    """A message and its delivery state. ``to``, ``subject`` and ``body`` are null with
    ``erased: true`` once the case's personal data was erased."""

    message_id: UUID
    case_id: UUID
    channel: str
    template: str
    template_version: int
    status: str
    queued_at: datetime
    send_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    attempts: int
    """Deliveries to the provider tried so far (while sending, the sender's own count)."""
    detail: str | None
    """Why the message failed or, while it is still being sent, why the last try did not
    send (``HTTP 503``, ``postponed: …``, ``no sms provider configured``)."""
    to: str | None
    subject: str | None
    body: str | None
    erased: bool
    validation_notice: ItemizationView | None
    validation_period_ends: date | None


class MessageList(msgspec.Struct, frozen=True):
    items: list[MessageView]
    next_cursor: str | None


class DeliveryReport(Request):
    status: Literal["delivered", "failed", "bounced", "returned"]
    at: Instant
    detail: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None


class DeliveryRecorded(msgspec.Struct, frozen=True):
    case_id: UUID
    version: int
    message_id: UUID
    status: str


E164 = r"^\+[1-9][0-9]{6,14}$"
_ADDRESS_CHAR = r"[^@\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
EMAIL = rf"^{_ADDRESS_CHAR}+@{_ADDRESS_CHAR}*\.{_ADDRESS_CHAR}*$"
"""A local part, ``@`` and a domain with a dot, no space or control character (spelt out:
Python and other regex engines differ on what `\\s` is): what ``normalise_email`` reads."""


class InboundSms(Request, rename={"from_": "from"}):
    from_: Annotated[str, msgspec.Meta(min_length=8, max_length=16, pattern=E164,
                                       description="The sender in E.164 (`+15551234567`).")]
    text: Annotated[str, msgspec.Meta(max_length=2000)]
    received_at: Instant


class EmailUnsubscribe(Request):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=EMAIL)]
    received_at: Instant | None = None


class OptOutResult(msgspec.Struct, frozen=True):
    """Cases opted out by this message (empty when the text was not an opt-out word);
    ``recorded_cases`` lists the cases an ordinary text was recorded on as an inbound contact."""

    opted_out_cases: list[UUID]
    recorded_cases: list[UUID] = []


class ValidationNoticeRequest(Request):
    sent_at: Instant
    itemization_date: Day


class LetterItem(msgspec.Struct, frozen=True):
    message_id: UUID
    case_id: UUID
    template: str
    send_at: datetime
    document: str
    """Path of the PDF: ``/v1/messages/{message_id}/document``."""


class LetterList(msgspec.Struct, frozen=True):
    items: list[LetterItem]
    next_cursor: str | None


class ContactRefused(Problem, frozen=True):
    """``409 contact_not_allowed``: ``reasons`` lists every rule that forbids the message."""

    reasons: list[ReasonView] = []
