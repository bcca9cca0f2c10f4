"""``GET /v1/cases/{id}/history``: every event of a case, oldest first, in pages."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromPath, Parameter

from ledger.api import auth
from ledger.api.docs import responses
from ledger.api.problems import invalid
from ledger.api.schemas.audit import HistoryItem, HistoryPage
from ledger.api.audit_access import HISTORY
from ledger.audit.events import event_data, event_type, is_case_event, open_rows
from ledger.eventstore import EventStore
from ledger.services.cases import CaseNotFound


def _cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"h{version}".encode()).rstrip(b"=").decode()


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("h") and text[1:].isdigit() and len(text) < 20:
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise invalid("cursor", "not a cursor this server produced")


class HistoryController(Controller):
    """The full, replayable record of one case (supervisor, auditor, admin)."""

    path = "/v1/cases/{case_id:uuid}/history"
    tags = ["audit"]

    @get("/", operation_id="getCaseHistory", opt=auth.allow(*HISTORY),
         responses=responses(404))
    async def history(
        self, request: Request, case_id: FromPath[UUID],
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Parameter(description="`next_cursor` of a previous page")] = None,
    ) -> HistoryPage:
        """Events with position, version, type, business and record time, actor, data and
        chain hash. Personal data of an erased debtor reads as null (``"erased": true``)."""
        after = _after(cursor)
        store: EventStore = request.app.state.store
        rows = await store.read_stream(case_id, after_version=after, until_version=after + limit + 1)
        tenant = request.user.tenant_id
        if (any(row.tenant_id != tenant for row in rows) or (not rows and after == 0)
                or (rows and not is_case_event(rows[0].topic))):
            raise CaseNotFound(str(case_id))
        more = len(rows) > limit
        rows = rows[:limit]
        events = await open_rows(request.app.state.codec, request.app.state.cipher, rows)
        items = [
            HistoryItem(position=row.notification_id, version=row.originator_version,
                        type=event_type(row.topic), occurred_at=event.timestamp,
                        recorded_at=row.recorded_at, actor=row.actor, data=event_data(event),
                        chain_hash=bytes(row.chain_hash).hex())
            for row, event in zip(rows, events, strict=True)
        ]
        return HistoryPage(items, _cursor(rows[-1].originator_version) if more else None)
