"""Contact permission answers for collectors and dialers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from ledger.api.schemas.common import Instant, Request
from ledger.api.schemas.facts import ChannelName

MAX_BATCH = 1000
CaseIdText = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ReasonView(msgspec.Struct, frozen=True):
    """A rule that blocks contact: ``outside_hours``, ``call_frequency``, ``cease``, ``hold``,
    ``dispute_open``, ``not_found``, ..."""

    rule: str
    detail: str


class Permission(msgspec.Struct, frozen=True):
    """May we contact this debtor on this channel at that time?"""

    allowed: bool
    reasons: list[ReasonView]
    next_allowed_at: datetime | None
    """Earliest allowed time if only time stands in the way; null when a person must act."""


class PermissionBatch(Request):
    """Ask for up to 1,000 cases at once (one database round trip)."""

    channel: ChannelName
    at: Instant
    case_ids: Annotated[list[CaseIdText], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    """Case ids; one that is not a UUID is an unknown case (``not_found``), not an error for
    the whole batch (a dialer's list may carry another system's ids)."""


class CasePermission(msgspec.Struct, frozen=True):
    case_id: str
    """The id as asked (a UUID in its canonical form)."""
    allowed: bool
    reasons: list[ReasonView]
    next_allowed_at: datetime | None


class PermissionResults(msgspec.Struct, frozen=True):
    """One result per requested case, in request order; unknown ids are ``not_found``."""

    results: list[CasePermission]
