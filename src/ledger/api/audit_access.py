"""What the audit routes share: who may use them, the time-travel parameters, the services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Request
from litestar.params import Parameter

from ledger.api.problems import invalid
from ledger.audit.timetravel import CaseAt, case_at
from ledger.services.cases import CaseNotFound
from ledger.api.schemas.times import Instant
from ledger.services.keys import Role

# API.md, "Conventions" (admin may do everything; ``auth.allow`` adds it).
HISTORY = (Role.SUPERVISOR, Role.AUDITOR)
STATEMENT = (Role.AUDITOR,)
VERIFY = (Role.AUDITOR,)
ERASURE: tuple[Role, ...] = ()

AsOf = Annotated[Instant | None, Parameter(
    description="Business time (RFC 3339 with offset): only facts that happened by then.")]
AsKnownAt = Annotated[Instant | None, Parameter(
    description="Record time (RFC 3339 with offset): only events recorded by then.")]


def aware(value: datetime | None, field: str) -> datetime | None:
    """``value`` if it carries an offset; a naive time is ambiguous, so it is a 422."""
    if value is not None and value.utcoffset() is None:
        raise invalid(field, "must be an RFC 3339 time with an offset, e.g. 2026-09-01T00:00:00Z")
    return value


async def load_case_at(request: Request, case_id: UUID, as_of: datetime | None,
                       as_known_at: datetime | None) -> CaseAt:
    """The case rebuilt for the caller's tenant; 404 if not found (or not placed yet)."""
    state = request.app.state
    found = await case_at(state.store, state.codec, state.cipher, request.user.tenant_id, case_id,
                          as_of=aware(as_of, "as_of"), as_known_at=aware(as_known_at, "as_known_at"))
    if found is None:
        raise CaseNotFound(str(case_id))
    return found
