"""The tenant's global event feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class FeedItem(msgspec.Struct, frozen=True):
    """One event, as recorded: business time, record time, who, and the fact's data."""

    position: int
    """Store-wide sequence number (unique; not gap-free, not the resume point)."""
    cursor: str
    """Resume point just after this event."""
    case_id: UUID
    version: int
    type: str
    """Event type, e.g. ``Placed``, ``PaymentReceived``, ``ContactRecorded``."""
    occurred_at: datetime
    recorded_at: datetime
    actor: str | None
    data: dict[str, Any]
    chain_hash: str
    """Hex SHA-256 chaining this event to the previous one of its case."""


class FeedPage(msgspec.Struct, frozen=True):
    """A page of the feed; resume from ``next_cursor`` (always present) to miss and repeat nothing."""

    items: list[FeedItem]
    next_cursor: str
