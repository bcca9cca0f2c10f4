"""The fixed vocabulary of message templates (API.md: "a fixed set of fields")."""

from __future__ import annotations

from enum import StrEnum


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    RETURNED = "returned"


class DeliveryStatus(StrEnum):
    """What a provider (or the print house) reports back about a sent message."""

    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    RETURNED = "returned"


CASE_FIELDS = (
    "debtor_name", "balance", "currency", "external_ref", "promise_amount",
    "promise_due_date", "agency_name", "opt_out",
)
VALIDATION_NOTICE_FIELDS = (
    "itemization_date", "itemization_amount", "interest_since", "fees_since",
    "payments_since", "credits_since", "current_amount", "validation_period_ends",
)
FIELDS = frozenset(CASE_FIELDS + VALIDATION_NOTICE_FIELDS)
MONEY_FIELDS = frozenset({
    "balance", "promise_amount", "itemization_amount", "interest_since", "fees_since",
    "payments_since", "credits_since", "current_amount",
})
OPT_OUT_CHANNELS = frozenset({MessageChannel.SMS, MessageChannel.EMAIL})

OPT_OUT_TEXT = {
    MessageChannel.SMS: "Reply STOP to opt out.",
    MessageChannel.EMAIL: "To stop these emails, reply UNSUBSCRIBE.",
    MessageChannel.LETTER: "",
}
"""What ``{{ opt_out }}`` renders to on each channel."""
