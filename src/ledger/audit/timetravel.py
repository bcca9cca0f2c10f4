"""A case as of a business time and/or as known at a record time.

``as_known_at`` keeps the events recorded at or before it (a prefix of the stream: versions
are assigned in record order). ``as_of`` then keeps the facts whose business time
(``timestamp``) is at or before it — a payment recorded today but received last month counts
for last month — and replays them in version order, the order the case decided them in.

One subtlety: business times need not follow versions, and a few facts refer to earlier ones
(a reversal to its payment, a resolution to its dispute, a release to its hold). A fact whose
referent is not in effect at ``as_of`` (e.g. a reversal dated before the payment it reverses)
is left out of that replay, as if it had not happened yet; the statement leaves it out too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from ledger.audit.events import open_rows
from ledger.domain.case import Case
from ledger.eventstore import EventCodec, EventStore, StoredEventRow
from ledger.eventstore.codec import StreamCipher


class CaseAt(NamedTuple):
    """The case rebuilt from the facts in effect, and those facts with their rows."""

    case: Case
    applied: list[tuple[StoredEventRow, Any]]


async def case_at(store: EventStore, codec: EventCodec, cipher: StreamCipher | None,
                  tenant_id: str, case_id: UUID, *, as_of: datetime | None = None,
                  as_known_at: datetime | None = None) -> CaseAt | None:
    """None when the case does not exist for the tenant (or did not exist yet)."""
    rows = await store.read_stream(case_id, until_recorded_at=as_known_at)
    if not rows or rows[0].tenant_id != tenant_id:
        return None
    events = await open_rows(codec, cipher, rows)
    case: Any = None
    applied = []
    for row, event in zip(rows, events, strict=True):
        if as_of is not None and event.timestamp > as_of:
            continue
        if case is None:
            if not isinstance(event, Case.Placed):
                return None
            case = event.mutate(None)
        else:
            try:
                event.apply(case)
            except KeyError:
                continue  # refers to a fact not in effect at as_of (see module docstring)
            case.version = event.originator_version
            case.modified_on = event.timestamp
        applied.append((row, event))
    if case is None or case.tenant_id != tenant_id:
        return None
    return CaseAt(case, applied)
