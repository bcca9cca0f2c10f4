"""Typed errors raised by the event store, so callers map them to HTTP problems without parsing text."""

from __future__ import annotations

from uuid import UUID


class EventStoreError(Exception):
    """Base class of every error the event store raises on purpose."""


class ConcurrencyConflict(EventStoreError):
    """Another writer appended to one of the streams first; nothing of this append was stored.

    The service layer reloads the aggregate and retries the command (bounded).
    """

    def __init__(self, message: str, originator_ids: tuple[UUID, ...] = ()) -> None:
        super().__init__(message)
        self.originator_ids = originator_ids


class IdempotencyKeyConflict(EventStoreError):
    """The (tenant, idempotency key) pair is already recorded; nothing of this append was stored."""

    def __init__(self, tenant_id: str, key: str) -> None:
        super().__init__(f"idempotency key already recorded for tenant {tenant_id!r}: {key!r}")
        self.tenant_id = tenant_id
        self.key = key


class InvalidCursor(EventStoreError, ValueError):
    """A feed cursor string that this store did not produce."""


class InvalidAppend(EventStoreError, ValueError):
    """A batch of new events that can never be stored (gaps, mixed order, empty metadata)."""


class EventDecodingError(EventStoreError, ValueError):
    """Stored state that cannot be turned back into a domain event or snapshot."""


class AggregateNotFound(EventStoreError, LookupError):
    """No stream with this id (for this tenant, within the requested bounds)."""


class UnsealedWrite(EventStoreError, TypeError):
    """An aggregate holding personal data was saved through a repository without a cipher.

    Build case repositories with ``ledger.services.repositories.case_repository``."""
