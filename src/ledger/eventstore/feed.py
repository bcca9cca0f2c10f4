"""The global event feed: keyset pages below the transaction horizon, and subscriptions.

Rows are ordered by (transaction_id, notification_id) and a page only includes rows whose
transaction_id is below ``pg_snapshot_xmin(pg_current_snapshot())``: every transaction that
could still commit has an id at or above that horizon, so nothing can later appear behind a
cursor. Paging by notification_id alone would skip ids taken by transactions that commit late.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from ledger.eventstore.notify import Wakeup
from ledger.eventstore.records import Cursor, StoredEventRow, rows_with_epoch_us
from ledger.eventstore.sql import EVENT_COLUMNS

_HORIZON = "transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
_TOPICS = "($4::text[] IS NULL OR topic = ANY($4::text[]))"
_EPOCH_US = "(extract(epoch FROM recorded_at) * 1000000)::int8"


def _feed_sql(columns: str, *, tenant: bool) -> str:
    tenant_filter = "tenant_id = $5 AND " if tenant else ""
    return f"""
    SELECT {columns} FROM stored_events
    WHERE {tenant_filter}(transaction_id, notification_id) > ($1::xid8, $2::bigint)
      AND {_HORIZON} AND {_TOPICS}
    ORDER BY transaction_id, notification_id LIMIT $3
"""


FEED_SQL = _feed_sql(EVENT_COLUMNS, tenant=False)
TENANT_FEED_SQL = _feed_sql(EVENT_COLUMNS, tenant=True)
# What ``read`` runs: the same, with ``recorded_at`` as exact epoch microseconds (turned into
# datetimes by ``rows_with_epoch_us``, cheaper than asyncpg's timestamptz decoding).
_PAGE_COLUMNS = EVENT_COLUMNS.replace(" recorded_at,", f" {_EPOCH_US},")
_PAGE_SQL = _feed_sql(_PAGE_COLUMNS, tenant=False)
_TENANT_PAGE_SQL = _feed_sql(_PAGE_COLUMNS, tenant=True)
HEAD_SQL = f"""
    SELECT transaction_id, notification_id FROM stored_events WHERE {_HORIZON}
    ORDER BY transaction_id DESC, notification_id DESC LIMIT 1
"""
# Committed rows after the cursor that the horizon still hides (a transaction that began
# earlier is open): visible to this snapshot, so committed, but at or above the horizon.
_HIDDEN_SQL = """
    SELECT EXISTS (SELECT 1 FROM stored_events
        WHERE (transaction_id, notification_id) > ($1::xid8, $2::bigint)
          AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
          AND ($3::text[] IS NULL OR topic = ANY($3::text[])))
"""
_TENANT_HIDDEN_SQL = """
    SELECT EXISTS (SELECT 1 FROM stored_events
        WHERE tenant_id = $4 AND (transaction_id, notification_id) > ($1::xid8, $2::bigint)
          AND transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
          AND ($3::text[] IS NULL OR topic = ANY($3::text[])))
"""
#: How long a reader waits for committed rows hidden behind an open transaction (read_waiting).
SETTLE_SECONDS = 1.0
TENANT_HEAD_SQL = f"""
    SELECT transaction_id, notification_id FROM stored_events WHERE tenant_id = $1 AND {_HORIZON}
    ORDER BY transaction_id DESC, notification_id DESC LIMIT 1
"""


def _drop_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class FeedReader:
    """Reads the feed through the store's ``fetch``; wakes on the store's ``Wakeup`` and polls as a fallback."""

    def __init__(self, fetch: Callable[..., Awaitable[list[asyncpg.Record]]],
                 wakeup: Wakeup) -> None:
        self._fetch = fetch
        self._wakeup = wakeup

    async def read(self, after: Cursor | None = None, limit: int = 1000, *,
                   tenant_id: str | None = None,
                   topics: Sequence[str] | None = None) -> list[StoredEventRow]:
        """Up to ``limit`` visible rows after ``after`` (None: from the start), oldest first.

        Resume from the last row's ``cursor``. With ``topics`` only those topics are returned.
        """
        position = after or Cursor.START
        arguments: list[object] = [position.transaction_id, position.notification_id, limit,
                                   None if topics is None else list(topics)]
        sql = _PAGE_SQL
        if tenant_id is not None:
            sql = _TENANT_PAGE_SQL
            arguments.append(tenant_id)
        return rows_with_epoch_us(await self._fetch(sql, *arguments))

    async def read_waiting(self, after: Cursor | None = None, limit: int = 1000, *,
                           wait: float = 0.0, tenant_id: str | None = None,
                           topics: Sequence[str] | None = None,
                           poll_interval: float = 0.2) -> list[StoredEventRow]:
        """Like ``read``, but an empty page waits up to ``wait`` seconds for events (long poll).

        A page that ends before ``limit`` also waits (briefly, ≤ ``SETTLE_SECONDS``) for events
        that were committed before the read but are still hidden below the horizon by an older
        transaction that is open (a projection batch, say): so a client that wrote and then
        reads the feed sees its own event, while the feed stays gap-free.
        """
        deadline = time.monotonic() + wait
        settle_until = time.monotonic() + SETTLE_SECONDS
        pause = 0.002
        while True:
            generation = self._wakeup.current()
            rows = await self.read(after, limit, tenant_id=tenant_id, topics=topics)
            if len(rows) < limit and time.monotonic() < settle_until and await self._hidden(
                    rows[-1].cursor if rows else after, tenant_id, topics):
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
                continue
            remaining = deadline - time.monotonic()
            if rows or remaining <= 0:
                return rows
            await self._wakeup.wait(generation, min(poll_interval, remaining))

    async def _hidden(self, after: Cursor | None, tenant_id: str | None,
                      topics: Sequence[str] | None) -> bool:
        position = after or Cursor.START
        arguments: list[object] = [position.transaction_id, position.notification_id,
                                   None if topics is None else list(topics)]
        sql = _HIDDEN_SQL
        if tenant_id is not None:
            sql = _TENANT_HIDDEN_SQL
            arguments.append(tenant_id)
        return bool((await self._fetch(sql, *arguments))[0][0])

    async def head(self, *, tenant_id: str | None = None) -> Cursor | None:
        """Position of the newest visible event (for lag metrics), None when the feed is empty."""
        arguments: tuple[Any, ...] = () if tenant_id is None else (tenant_id,)
        rows = await self._fetch(HEAD_SQL if tenant_id is None else TENANT_HEAD_SQL, *arguments)
        return Cursor(rows[0][0], rows[0][1]) if rows else None

    async def pages(self, after: Cursor | None = None, *, tenant_id: str | None = None,
                    topics: Sequence[str] | None = None, page_size: int = 1000,
                    follow: bool = False,
                    poll_interval: float = 0.2) -> AsyncIterator[list[StoredEventRow]]:
        """Consecutive non-empty pages after ``after``; the next full page is fetched while the
        caller works on the current one. Without ``follow`` it stops at the end of the feed;
        with it, it waits for new events (woken by appends, else every ``poll_interval``).
        """
        position = after or Cursor.START
        generation = self._wakeup.current()
        pending = asyncio.ensure_future(
            self.read(position, page_size, tenant_id=tenant_id, topics=topics))
        try:
            while True:
                rows = await pending
                if rows:
                    position = rows[-1].cursor
                if len(rows) == page_size:
                    generation = self._wakeup.current()
                    pending = asyncio.ensure_future(
                        self.read(position, page_size, tenant_id=tenant_id, topics=topics))
                    # Let the prefetch send its query now: a caller working through the page
                    # without awaiting would otherwise hold it back until the next __anext__.
                    await asyncio.sleep(0)
                    yield rows
                    continue
                if rows:
                    yield rows
                if not follow:
                    return
                # Caught up: wait for an append signalled since that read began, or the poll.
                await self._wakeup.wait(generation, poll_interval)
                generation = self._wakeup.current()
                pending = asyncio.ensure_future(
                    self.read(position, page_size, tenant_id=tenant_id, topics=topics))
        finally:
            # A prefetch still running is left to finish (cancelling it mid-query could leave
            # a held connection busy); its result is dropped.
            pending.add_done_callback(_drop_result)

    async def subscribe(self, after: Cursor | None = None, *, tenant_id: str | None = None,
                        topics: Sequence[str] | None = None, page_size: int = 1000,
                        poll_interval: float = 0.2) -> AsyncIterator[StoredEventRow]:
        """Yield every committed event after ``after`` exactly once, in feed order, forever.

        Wakes right after appends made through this process's store, else within
        ``poll_interval`` seconds (other processes, lost notifications, late commits).
        """
        async for rows in self.pages(after, tenant_id=tenant_id, topics=topics,
                                     page_size=page_size, follow=True,
                                     poll_interval=poll_interval):
            for row in rows:
                yield row
