"""The ``Template`` aggregate: a named, versioned message template of one tenant.

Its id is derived from tenant and name, so saving under an existing name revises the same
stream: version 1 is ``TemplateCreated``, every later save a ``TemplateRevised`` (the aggregate
version is the template version; the names say "template" in the shared feed). Messages
record the version they were rendered from.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.messaging.fields import MessageChannel
from ledger.domain.messaging.money_format import parse_locale
from ledger.domain.messaging.templates import validate_template
from ledger.domain.timeutil import aware_utc
from ledger.domain.validation import optional_text, required_text
from ledger.domain.errors import InvalidRequest

# Fixed forever: template ids of every tenant derive from it.
TEMPLATE_NAMESPACE = UUID("2b7f3a0e-6c55-4d2e-9a1c-7d0f5e8b4c21")
MAX_NAME = 100


def template_id_for(tenant_id: str, name: str) -> UUID:
    return uuid5(TEMPLATE_NAMESPACE, f"{tenant_id}\x00{name}")


def _checked(channel: MessageChannel | str, locale: str, subject: str | None,
             body: str) -> tuple[MessageChannel, str, str | None, str]:
    try:
        channel = MessageChannel(channel)
    except ValueError:
        raise InvalidRequest("channel", "must be sms, email or letter") from None
    parse_locale(locale)
    subject = optional_text(subject, "subject", 300)
    body = required_text(body, "body", 50_000)
    validate_template(channel, body, subject)
    return channel, locale, subject, body


class Template(Aggregate):
    """A message template; see the module docstring."""

    class TemplateCreated(Aggregate.Created):
        tenant_id: str
        name: str
        channel: MessageChannel
        locale: str
        subject: str | None
        body: str

    class TemplateRevised(Aggregate.Event):
        channel: MessageChannel
        locale: str
        subject: str | None
        body: str

    def __init__(self, tenant_id: str, name: str, channel: MessageChannel, locale: str,
                 subject: str | None, body: str) -> None:
        self.tenant_id, self.name = tenant_id, name
        self.channel, self.locale, self.subject, self.body = channel, locale, subject, body

    @classmethod
    def create(cls, *, tenant_id: str, name: str, channel: MessageChannel | str, locale: str,
               subject: str | None, body: str, saved_at: datetime) -> Template:
        """Version 1 of a template (validated: fields, opt-out, length, sandbox)."""
        name = required_text(name, "name", MAX_NAME)
        channel, locale, subject, body = _checked(channel, locale, subject, body)
        return cls._create(  # type: ignore[no-any-return]
            cls.TemplateCreated, id=template_id_for(tenant_id, name),
            timestamp=aware_utc(saved_at, "saved_at"), tenant_id=tenant_id, name=name,
            channel=channel, locale=locale, subject=subject, body=body)

    def revise(self, *, channel: MessageChannel | str, locale: str, subject: str | None,
               body: str, saved_at: datetime) -> None:
        """The next version (the same checks as the first)."""
        channel, locale, subject, body = _checked(channel, locale, subject, body)
        self._revised(timestamp=aware_utc(saved_at, "saved_at"), channel=channel,
                      locale=locale, subject=subject, body=body)

    @event(TemplateRevised)
    def _revised(self, timestamp: datetime, channel: MessageChannel, locale: str,
                 subject: str | None, body: str) -> None:
        self.channel, self.locale, self.subject, self.body = channel, locale, subject, body
