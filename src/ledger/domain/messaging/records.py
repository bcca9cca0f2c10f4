"""What the ``Case`` keeps about its messages (no personal data in clear: ``content`` is sealed)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from ledger.domain.messaging.fields import MessageChannel, MessageStatus


class Itemization(msgspec.Struct, frozen=True, kw_only=True):
    """Regulation F §1006.34(c)(2) itemisation of the debt (minor units)."""

    itemization_date: date
    itemization_amount: int
    interest_since: int
    fees_since: int
    payments_since: int
    credits_since: int
    current_amount: int
    validation_period_ends: date


class MessageRecord(msgspec.Struct, frozen=True, kw_only=True):
    message_id: UUID
    channel: MessageChannel
    template: str
    template_version: int
    queued_at: datetime
    send_at: datetime
    status: MessageStatus
    content: str
    """Recipient, subject and body sealed with the case's data key (see ``ledger.messaging``)."""
    itemization: Itemization | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    detail: str | None = None

    @property
    def is_validation_notice(self) -> bool:
        return self.itemization is not None
