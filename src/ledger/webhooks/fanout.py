"""Fan-out: turn the feed into delivery rows, in the same statement as the shard's position.

Each shard follows the whole gap-free feed from its own position (``webhooks:<k>/<n>`` in
``projection_positions``). For every case event of its shard and every endpoint of the
event's tenant that is enabled, subscribed to the type, and registered earlier in feed order,
it writes one delivery row; the rows and the moved position commit together, so a crash at
any point neither loses nor skips an event (a rolled-back batch is simply read again).
Endpoint events in the feed refresh the registry in feed order.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from ledger.eventstore import Cursor, Repository, StoredEventRow
from ledger.eventstore.errors import AggregateNotFound
from ledger.domain.webhooks.endpoint import WebhookEndpoint
from ledger.projections import positions
from ledger.projections.positions import Position
from ledger.webhooks import payload, store
from ledger.webhooks.queues import Delivery

ENDPOINT_TOPIC_PREFIX = "ledger.domain.webhooks.endpoint:WebhookEndpoint."


def shard_of(case_id: UUID, shards: int) -> int:
    return case_id.int % shards


class EndpointRegistry:
    """The endpoints a shard knows, with the feed cursor of each one's registration."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository
        self.endpoints: dict[UUID, WebhookEndpoint] = {}
        self.registered: dict[UUID, Cursor] = {}

    async def load(self, pool: asyncpg.Pool) -> None:
        rows = await pool.fetch(store.REGISTERED_SQL)
        self.registered = {r[0]: Cursor(r[1], r[2]) for r in rows}
        loaded = await self.repository.load_many(self.registered) if rows else {}
        self.endpoints = {k: v for k, v in loaded.items() if not v.deleted}

    async def refresh(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        try:
            endpoint = await self.repository.load(endpoint_id)
        except AggregateNotFound:
            return None
        if endpoint.deleted:
            self.endpoints.pop(endpoint_id, None)
        else:
            self.endpoints[endpoint_id] = endpoint
        return endpoint

    def subscribers(self, row: StoredEventRow, kind: str) -> list[WebhookEndpoint]:
        cursor = row.cursor
        return [e for e in self.endpoints.values()
                if e.tenant_id == row.tenant_id and e.wants(kind)
                and self.registered.get(e.id, cursor) < cursor]


async def external_refs(pool: asyncpg.Connection | asyncpg.Pool, cache: dict[UUID, str | None],
                        case_ids: set[UUID]) -> None:
    missing = [c for c in case_ids if c not in cache]
    if missing:
        for case_id, state in await pool.fetch(payload.EXTERNAL_REFS_SQL, missing):
            cache[case_id] = payload.external_ref_of(state)
    if len(cache) > 200_000:
        cache.clear()  # bounded; refilled by one query per batch


async def fan_out(conn: asyncpg.Connection, name: str, position: Position,
                  rows: Sequence[StoredEventRow], registry: EndpointRegistry, shard: int,
                  shards: int, refs: dict[UUID, str | None]
                  ) -> tuple[Position, list[Delivery], set[UUID]]:
    """Write the batch's deliveries and the new position in one transaction.

    Returns the new position, the deliveries written (for the in-memory queues) and the
    endpoints whose events were in the batch (refreshed here, in feed order).
    """
    touched: set[UUID] = set()
    mine = [r for r in rows if payload.is_case_event(r.topic)
            and shard_of(r.originator_id, shards) == shard]
    await external_refs(conn, refs, {r.originator_id for r in mine})
    deliveries: list[Delivery] = []
    columns: list[list[object]] = [[] for _ in range(11)]
    seq = position.events_applied
    for row in rows:
        seq += 1
        if row.topic.startswith(ENDPOINT_TOPIC_PREFIX):
            if row.topic.endswith(".Registered"):
                registry.registered[row.originator_id] = row.cursor
            await registry.refresh(row.originator_id)
            touched.add(row.originator_id)
            continue
        if not payload.is_case_event(row.topic) or shard_of(row.originator_id, shards) != shard:
            continue
        kind = payload.event_type(row.topic)
        subscribers = registry.subscribers(row, kind)
        if not subscribers:
            continue
        body = payload.build_body(row, refs.get(row.originator_id))
        for endpoint in subscribers:
            did = payload.delivery_id(endpoint.id, row.originator_id, row.originator_version)
            wid = payload.webhook_id(did)
            for column, value in zip(columns, (
                    did, wid, endpoint.id, row.tenant_id, shard, row.originator_id,
                    row.originator_version, seq, kind, body, row.recorded_at), strict=True):
                column.append(value)
            deliveries.append(Delivery(did, wid, endpoint.id, row.originator_id, seq, 0,
                                       row.recorded_at, body))
    new = position.advanced(rows[-1].cursor, len(rows), 0)  # no read model: no as_of_position
    moved, _ = await conn.fetchrow(
        store.FAN_OUT_SQL, name, *columns[:10], position.cursor.transaction_id,
        position.cursor.notification_id, new.cursor.transaction_id,
        new.cursor.notification_id, new.events_applied, rows[-1].recorded_at, columns[10])
    if moved != 1:
        raise positions.PositionMoved(name)
    return new, deliveries, touched
