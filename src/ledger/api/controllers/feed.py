"""``GET /v1/events``: the tenant's gap-free event feed, with long polling."""

from __future__ import annotations

import re
from typing import Annotated, Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic
from litestar import Controller, Request, get
from litestar.params import Parameter

from ledger.api import auth
from ledger.api.docs import responses
from ledger.api.problems import invalid
from ledger.api.schemas.feed import FeedItem, FeedPage
from ledger.audit.events import event_data, event_type, open_rows
from ledger.domain.case import Case
from ledger.domain.messaging.template import Template
from ledger.domain.negotiation.policy import OfferPolicy
from ledger.domain.strategy.aggregate import Strategy
from ledger.domain.webhooks.endpoint import WebhookEndpoint
from ledger.eventstore import Cursor, EventCodec, EventStore, InvalidCursor, StoredEventRow

MAX_WAIT = 30.0
FEED_AGGREGATES = (Case, OfferPolicy, Strategy, Template, WebhookEndpoint)
TOPICS: dict[str, list[str]] = {}
"""Every type the feed can show (a case's, a policy's, …) and its topics: two streams may
name an event alike (``Defined``), and ``types`` selects both."""
for _aggregate in FEED_AGGREGATES:
    for _name, _value in vars(_aggregate).items():
        if isinstance(_value, type) and issubclass(_value, Aggregate.Event):
            TOPICS.setdefault(_name, []).append(get_topic(_value))
_NAME = "(?:" + "|".join(sorted(TOPICS)) + ")"
TYPES_PATTERN = f"^(?: *{_NAME} *(?:, *{_NAME} *)*)?$"
"""What ``types`` accepts, stated in the document: known names, comma-separated, spaces around."""


def _item(row: StoredEventRow, event: Any) -> FeedItem:
    # Personal data opened with the case key (or shown erased), as in the case history.
    data: dict[str, Any] = event_data(event)
    return FeedItem(
        position=row.notification_id, cursor=str(row.cursor), case_id=row.originator_id,
        version=row.originator_version, type=event_type(row.topic),
        occurred_at=event.timestamp, recorded_at=row.recorded_at, actor=row.actor, data=data,
        chain_hash=row.chain_hash.hex(),
    )


class EventFeedController(Controller):
    """Every event of the key's tenant, in commit order, resumable by cursor."""

    path = "/v1/events"
    tags = ["feed"]

    @get("/", operation_id="readEvents", opt=auth.allow(*auth.FEED), responses=responses())
    async def read(
        self,
        request: Request,
        after: Annotated[str | None, Parameter(description="`next_cursor` of a previous page")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        types: Annotated[str | None, Parameter(
            pattern=TYPES_PATTERN, description="Comma-separated event types (the feed items' `type`)",
        )] = None,
        wait: Annotated[float, Parameter(ge=0, le=MAX_WAIT, description="Seconds to wait on an empty page")] = 0,
        cursor: Annotated[str | None, Parameter(
            description="The same as `after`, as every other list names it (give one of them)",
        )] = None,
    ) -> FeedPage:
        """A page of the feed after ``after``; with ``wait``, an empty page waits up to that
        many seconds (≤ 30) for new events. ``next_cursor`` is always returned. ``cursor``
        is taken as ``after`` (the lists' convention), so a consumer that follows either
        resumes where it stopped rather than from the start."""
        name = "after" if cursor is None else "cursor"
        if cursor is not None and after is not None and cursor != after:
            raise invalid("cursor", "give after or cursor, not two different cursors")
        given = after if cursor is None else cursor
        try:
            position = Cursor.START if given is None else Cursor.parse(given)
        except InvalidCursor:
            raise invalid(name, "not a cursor this server produced") from None
        topics = None
        if types:
            names = [t.strip(" ") for t in types.split(",")]
            if not re.fullmatch(TYPES_PATTERN, types):
                raise invalid("types", "unknown event type; known: " + ", ".join(sorted(TOPICS)))
            topics = [topic for name in names for topic in TOPICS[name]]
        store: EventStore = request.app.state.store
        rows = await store.feed.read_waiting(
            position, limit, wait=wait, tenant_id=request.user.tenant_id, topics=topics
        )
        codec: EventCodec = request.app.state.codec
        events = await open_rows(codec, request.app.state.cipher, rows)
        items = [_item(row, event) for row, event in zip(rows, events, strict=True)]
        return FeedPage(items, items[-1].cursor if items else str(position))
