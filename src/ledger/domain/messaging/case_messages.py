"""Message commands of ``Case``: queue, sent, delivery reports, opt-outs, late notices.

A mixin like :mod:`ledger.domain.case_handling`; the events live in :mod:`ledger.domain.case`.
Every message passes the same contact permission as a call (plus opt-outs): allowed now →
``queued``; blocked only by time (hours, daily limits, a hold with an end) → ``scheduled`` at
the next allowed moment; blocked for good (cease, dispute, open-ended hold, opt-out, closed,
no address) → :class:`ContactNotAllowed` with every reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.domain.compliance import ContactRules, Reason, permission
from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.messaging.fields import DeliveryStatus, MessageChannel, MessageStatus
from ledger.domain.messaging.records import Itemization, MessageRecord
from ledger.domain.messaging.validation_period import notice_deadline, notice_due_by
from ledger.domain.timeutil import CLOCK_SKEW, aware_utc, local_date, not_before, not_in_future
from ledger.domain.validation import optional_text
from ledger.domain.values import Channel, Direction, Outcome

if TYPE_CHECKING:
    from ledger.domain.case import Case

VALIDATION_NOTICE_LATE = "validation_notice_late"
VALIDATION_NOTICE_JURISDICTIONS = ("US",)
TERMINAL = frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED, MessageStatus.BOUNCED,
                      MessageStatus.RETURNED})


class ContactNotAllowed(DomainError):
    """The message can never be sent as things stand; ``reasons`` says why."""

    code = "contact_not_allowed"

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("contact is not allowed: " + ", ".join(r.rule for r in reasons))
        self.reasons = reasons


class UnknownMessage(DomainError):
    code = "unknown_message"
    http_status = 404


class QueuedMessage(msgspec.Struct, frozen=True):
    message_id: UUID
    status: MessageStatus
    send_at: datetime


class SendDecision(msgspec.Struct, frozen=True):
    """What the sender should do with a due message now."""

    send: bool
    retry_at: datetime | None
    reasons: list[Reason]


class CaseMessaging:
    """Commands about messages and opt-outs."""

    def queue_message(
        self: Case, *, channel: MessageChannel | str, template: str, template_version: int,
        content: str, has_address: bool, now: datetime, send_from: datetime | None = None,
        itemization: Itemization | None = None, rules: ContactRules | None = None,
    ) -> QueuedMessage:
        """Queue a rendered message (``content`` sealed by the caller) or refuse it.

        ``send_from`` (default ``now``) is the earliest sending moment: the business time of
        the message (a validation notice's ``sent_at``).
        """
        channel = MessageChannel(channel)
        now = aware_utc(now, "now")
        at = aware_utc(send_from, "sent_at") if send_from is not None else now
        not_in_future(at, now, "sent_at")
        decision = permission(self, Channel(channel.value), at, rules)
        reasons = list(decision.reasons)
        if not has_address:
            reasons.append(Reason("no_address", f"the debtor has no {channel} address"))
        if not has_address or (not decision.allowed and decision.next_allowed_at is None):
            raise ContactNotAllowed(reasons)
        status = MessageStatus.QUEUED if decision.allowed else MessageStatus.SCHEDULED
        send_at = at if decision.allowed else decision.next_allowed_at
        assert send_at is not None
        message_id = self._next_id("message")
        self._message_queued(
            timestamp=at, message_id=message_id, channel=channel, template=template,
            template_version=template_version, send_at=send_at, status=status,
            content=content, itemization=itemization,
        )
        if itemization is not None:
            late = self._validation_notice_lateness(at)
            if late is not None:
                self._compliance_breach_found(timestamp=at, rule=VALIDATION_NOTICE_LATE,
                                              detail=late, channel=Channel.LETTER)
        return QueuedMessage(message_id, status, send_at)

    def message(self: Case, message_id: UUID) -> MessageRecord:
        found = self.messages.get(message_id)
        if found is None:
            raise UnknownMessage("no such message")
        return found

    def sending_decision(self: Case, message_id: UUID, now: datetime,
                         rules: ContactRules | None = None) -> SendDecision:
        """May the due message leave now? Facts recorded since queueing (cease, opt-out,
        dispute, a call that used up the day) count."""
        record = self.message(message_id)
        decision = permission(self, Channel(record.channel.value), now, rules)
        if decision.allowed:
            return SendDecision(True, None, [])
        return SendDecision(False, decision.next_allowed_at, list(decision.reasons))

    def record_message_sent(self: Case, *, message_id: UUID, attempts: int,
                            sent_at: datetime) -> bool:
        """The provider accepted the message (2xx). False (no event) if already recorded."""
        record = self.message(message_id)
        if record.sent_at is not None:
            return False
        self._message_sent(timestamp=aware_utc(sent_at, "sent_at"), message_id=message_id,
                           attempts=attempts)
        return True

    def record_message_failed(self: Case, *, message_id: UUID, status: DeliveryStatus | str,
                              failed_at: datetime, detail: str | None = None) -> bool:
        record = self.message(message_id)
        status = _delivery_status(status)
        if record.status in TERMINAL:
            return False
        self._message_failed(timestamp=aware_utc(failed_at, "at"), message_id=message_id,
                             status=status, detail=optional_text(detail, "detail", 1000))
        return True

    def record_delivery(self: Case, *, message_id: UUID, status: DeliveryStatus | str,
                        at: datetime, detail: str | None = None,
                        now: datetime | None = None) -> bool:
        """A provider's or print house's report. ``delivered`` also records an outbound
        contact with outcome ``delivered`` (contact log and metrics). A repeated report of
        the same outcome records nothing (False)."""
        record = self.message(message_id)
        status = _delivery_status(status)
        at = aware_utc(at, "at")
        not_in_future(at, now, "at")
        # Not before the message existed (a provider's clock may run a little behind ours).
        not_before(at, record.queued_at - CLOCK_SKEW, "at", "message's queued_at")
        detail = optional_text(detail, "detail", 1000)
        if status is DeliveryStatus.DELIVERED:
            if record.status is MessageStatus.DELIVERED:
                return False
            self._message_delivered(timestamp=at, message_id=message_id, detail=detail)
            # Gated when it was queued and again when it was sent: judged there, not here.
            self._contact_recorded(
                timestamp=at, channel=Channel(record.channel.value),
                direction=Direction.OUTBOUND, outcome=Outcome.DELIVERED, agent_id=None,
                note=None, duration_seconds=None, breaches=())
            return True
        if record.status.value == status.value:
            return False
        self._message_failed(timestamp=at, message_id=message_id, status=status, detail=detail)
        return True

    def opt_out(self: Case, *, channel: Channel | str, received_at: datetime, source: str,
                now: datetime | None = None) -> bool:
        """The debtor opted out of ``channel`` (STOP, unsubscribe). False if already out."""
        channel = Channel(channel)
        received_at = aware_utc(received_at, "received_at")
        not_in_future(received_at, now, "received_at")
        if channel in self.opted_out_channels:
            return False
        self._channel_opted_out(timestamp=received_at, channel=channel, source=source)
        return True

    def _validation_notice_lateness(self: Case, sent_at: datetime | None) -> str | None:
        """Why the validation notice is late (None: on time, not yet due, or not US)."""
        first = self.first_communication_at
        if first is None or self.validation_notice_flagged:
            return None
        if not self.jurisdiction.upper().startswith(VALIDATION_NOTICE_JURISDICTIONS):
            return None
        deadline = notice_deadline(first, self.timezone)
        earlier = [m.send_at for m in self.messages.values()
                   if m.is_validation_notice and m.send_at < deadline]
        if earlier or (sent_at is not None and sent_at < deadline):
            return None
        return (f"initial communication on {local_date(first, self.timezone).isoformat()}; "
                f"no validation notice sent by "
                f"{notice_due_by(first, self.timezone).isoformat()}")

    def flag_late_validation_notice(self: Case, now: datetime) -> bool:
        """For the sweep: record ``validation_notice_late`` once the deadline passed unmet."""
        first = self.first_communication_at
        if first is None or now < notice_deadline(first, self.timezone):
            return False
        notices = [m.send_at for m in self.messages.values() if m.is_validation_notice]
        late = self._validation_notice_lateness(min(notices, default=None))
        if late is None:
            return False
        self._compliance_breach_found(timestamp=notice_deadline(first, self.timezone),
                                      rule=VALIDATION_NOTICE_LATE, detail=late,
                                      channel=Channel.LETTER)
        return True


def _delivery_status(value: DeliveryStatus | str) -> DeliveryStatus:
    try:
        return DeliveryStatus(value)
    except ValueError:
        raise InvalidRequest("status", "must be delivered, failed, bounced or returned") from None
