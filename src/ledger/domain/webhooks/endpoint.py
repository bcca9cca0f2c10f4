"""The ``WebhookEndpoint`` aggregate: a bank system that is told about its cases' events.

Its own stream (same store, chain and feed as cases), so every change — registration, a new
url or subscription, enabling, disabling (by request, ``410 Gone`` or three days failing), a
secret rotation, deletion — is a fact with its actor and time in the audit trail. The secrets
themselves are never in an event: events name them by id; the material lives wrapped under
the master key in ``webhook_secrets``. Commands validate and take the time as an argument.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.webhooks.rules import (
    ROTATION_OVERLAP,
    UrlRefused,
    live_secret_ids,
    matches,
    parse_endpoint_url,
)

MAX_DESCRIPTION = 500
MAX_EVENT_TYPES = 100


class EndpointDeleted(DomainError):
    """The endpoint was deleted; it takes no more commands."""

    code = "endpoint_deleted"


def _url(url: str, allow_hosts: Collection[str]) -> str:
    try:
        parse_endpoint_url(url, allow_hosts)
    except UrlRefused as refused:
        raise InvalidRequest("url", str(refused)) from None
    return url


def _event_types(event_types: Sequence[str], known: Collection[str]) -> tuple[str, ...]:
    if not event_types or len(event_types) > MAX_EVENT_TYPES:
        raise InvalidRequest("event_types", f"list 1 to {MAX_EVENT_TYPES} event types, or [\"*\"]")
    if "*" in event_types:
        if len(event_types) != 1:
            raise InvalidRequest("event_types", "\"*\" stands alone")
        return ("*",)
    unknown = sorted({t for t in event_types if t not in known})
    if unknown:
        raise InvalidRequest("event_types", "unknown event type(s): " + ", ".join(unknown[:10]))
    return tuple(dict.fromkeys(event_types))


class WebhookEndpoint(Aggregate):
    """One endpoint of one tenant."""

    class Registered(Aggregate.Created):
        tenant_id: str
        url: str
        event_types: tuple[str, ...]
        description: str | None
        secret_id: UUID

    class UrlChanged(Aggregate.Event):
        url: str

    class EventTypesChanged(Aggregate.Event):
        event_types: tuple[str, ...]

    class Enabled(Aggregate.Event):
        pass

    class Disabled(Aggregate.Event):
        reason: str
        """``requested``, ``gone`` (the endpoint answered 410) or ``failing`` (3 days)."""

    class SecretRotated(Aggregate.Event):
        secret_id: UUID
        previous_valid_until: datetime

    class Deleted(Aggregate.Event):
        pass

    def __init__(self, tenant_id: str, url: str, event_types: tuple[str, ...],
                 description: str | None, secret_id: UUID) -> None:
        self.tenant_id, self.url, self.event_types = tenant_id, url, event_types
        self.description = description
        self.enabled = True
        self.disabled_reason: str | None = None
        self.deleted = False
        self.secrets: list[tuple[UUID, datetime | None]] = [(secret_id, None)]

    # ---- commands ------------------------------------------------------------------

    @classmethod
    def register(cls, *, endpoint_id: UUID, tenant_id: str, url: str,
                 event_types: Sequence[str], description: str | None, secret_id: UUID,
                 known_types: Collection[str], allow_hosts: Collection[str],
                 now: datetime) -> WebhookEndpoint:
        if description is not None and len(description) > MAX_DESCRIPTION:
            raise InvalidRequest("description", f"at most {MAX_DESCRIPTION} characters")
        return cls._create(  # type: ignore[no-any-return]
            cls.Registered, id=endpoint_id, timestamp=now, tenant_id=tenant_id,
            url=_url(url, allow_hosts), event_types=_event_types(event_types, known_types),
            description=description, secret_id=secret_id)

    def _live(self) -> None:
        if self.deleted:
            raise EndpointDeleted("the webhook endpoint was deleted")

    def change(self, *, now: datetime, url: str | None = None,
               event_types: Sequence[str] | None = None, enabled: bool | None = None,
               known_types: Collection[str] = (), allow_hosts: Collection[str] = ()) -> None:
        """Apply a PATCH: validate every field first, then record only what changes."""
        self._live()
        new_url = None if url is None else _url(url, allow_hosts)
        new_types = None if event_types is None else _event_types(event_types, known_types)
        if new_url is not None and new_url != self.url:
            self._url_changed(timestamp=now, url=new_url)
        if new_types is not None and new_types != self.event_types:
            self._event_types_changed(timestamp=now, event_types=new_types)
        if enabled is True and not self.enabled:
            self._enabled(timestamp=now)
        elif enabled is False and self.enabled:
            self._disabled(timestamp=now, reason="requested")

    def disable(self, reason: str, now: datetime) -> None:
        """Disabled by the deliverer (``gone``, ``failing``); a no-op when already disabled."""
        self._live()
        if self.enabled:
            self._disabled(timestamp=now, reason=reason)

    def rotate_secret(self, secret_id: UUID, now: datetime) -> None:
        self._live()
        self._secret_rotated(timestamp=now, secret_id=secret_id,
                             previous_valid_until=now + ROTATION_OVERLAP)

    def delete(self, now: datetime) -> None:
        self._live()
        self._deleted(timestamp=now)

    # ---- queries -------------------------------------------------------------------

    def signing_secret_ids(self, now: datetime) -> list[UUID]:
        """Secrets that sign at ``now``, newest first (two during a rotation's overlap)."""
        return live_secret_ids(self.secrets, now)  # type: ignore[arg-type,return-value]

    def wants(self, event_type: str) -> bool:
        return self.enabled and not self.deleted and matches(self.event_types, event_type)

    @property
    def registered_at(self) -> datetime:
        return self.created_on

    # ---- event application -----------------------------------------------------------

    @event(UrlChanged)
    def _url_changed(self, timestamp: datetime, url: str) -> None:
        self.url = url

    @event(EventTypesChanged)
    def _event_types_changed(self, timestamp: datetime, event_types: tuple[str, ...]) -> None:
        self.event_types = event_types

    @event(Enabled)
    def _enabled(self, timestamp: datetime) -> None:
        self.enabled, self.disabled_reason = True, None

    @event(Disabled)
    def _disabled(self, timestamp: datetime, reason: str) -> None:
        self.enabled, self.disabled_reason = False, reason

    @event(SecretRotated)
    def _secret_rotated(self, timestamp: datetime, secret_id: UUID, previous_valid_until: datetime) -> None:
        self.secrets = [(sid, until) for sid, until in self.secrets
                        if until is None or until > previous_valid_until - ROTATION_OVERLAP]
        self.secrets = [(sid, previous_valid_until if until is None else until)
                        for sid, until in self.secrets] + [(secret_id, None)]

    @event(Deleted)
    def _deleted(self, timestamp: datetime) -> None:
        self.deleted, self.enabled = True, False
