"""The ``snapshots`` table: latest aggregate state every N events, read together with the tail."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from ledger.eventstore.records import StoredEventRow
from ledger.eventstore.snapshot_codec import encode_snapshot_state

_logger = logging.getLogger(__name__)
SNAPSHOT_TOPIC = get_topic(Snapshot)

INSERT_SNAPSHOT_SQL = """
    INSERT INTO snapshots (tenant_id, originator_id, originator_version, topic, state,
                           recorded_at, chain_hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (originator_id, originator_version) DO NOTHING
"""
# One round trip: the newest snapshot within the bounds (if any), then the events after it.
# Columns: is_snapshot, originator_id, originator_version, topic, state, chain_hash,
# recorded_at, tenant_id. The tenant is checked by the caller, not in SQL, so the planner always
# walks the primary key of this one stream, never a tenant index. $1 id, $2 version bound,
# $3 record-time bound (LOAD_UNTIL_SQL only; LOAD_SQL skips decoding recorded_at).
_LOAD_TEMPLATE = """
    WITH snap AS (
        SELECT originator_id, originator_version, state, chain_hash, recorded_at, tenant_id
        FROM snapshots
        WHERE originator_id = $1 AND originator_version <= $2 {snapshot_bound}
        ORDER BY originator_version DESC LIMIT 1)
    SELECT true, originator_id, originator_version, NULL::text, state, chain_hash,
           {recorded_at}, tenant_id
    FROM snap
    UNION ALL
    SELECT false, originator_id, originator_version, topic, state, chain_hash, {recorded_at},
           tenant_id
    FROM stored_events
    WHERE originator_id = $1
      AND originator_version > coalesce((SELECT originator_version FROM snap), 0)
      AND originator_version <= $2 {event_bound}
    ORDER BY 1 DESC, 3
"""
LOAD_SQL = _LOAD_TEMPLATE.format(snapshot_bound="", event_bound="",
                                 recorded_at="NULL::timestamptz")
LOAD_UNTIL_SQL = _LOAD_TEMPLATE.format(
    snapshot_bound="AND recorded_at <= $3", event_bound="AND recorded_at <= $3",
    recorded_at="recorded_at")
LOAD_MANY_SQL = """
    WITH snap AS (
        SELECT DISTINCT ON (originator_id)
               originator_id, originator_version, state, chain_hash, tenant_id
        FROM snapshots WHERE originator_id = ANY($1::uuid[])
        ORDER BY originator_id, originator_version DESC)
    SELECT true, originator_id, originator_version, NULL::text, state, chain_hash,
           NULL::timestamptz, tenant_id
    FROM snap
    UNION ALL
    SELECT false, e.originator_id, e.originator_version, e.topic, e.state, e.chain_hash,
           NULL::timestamptz, e.tenant_id
    FROM stored_events e LEFT JOIN snap s ON s.originator_id = e.originator_id
    WHERE e.originator_id = ANY($1::uuid[])
      AND e.originator_version > coalesce(s.originator_version, 0)
    ORDER BY 2, 1 DESC, 3
"""


async def write_snapshot(fetch: Callable[..., Awaitable[Any]], aggregate: Any,
                         last_row: StoredEventRow,
                         seal: Callable[[bytes], bytes] | None = None) -> bool:
    """Store a snapshot of ``aggregate`` at ``last_row``'s version; never raises.

    ``seal`` encrypts the personal parts of the encoded state (see ``StreamCipher``).

    Snapshots only speed loading up, so any failure (an unencodable attribute, a lost
    connection) is logged and the save that triggered it still succeeds.
    """
    try:
        snapshot = Snapshot.take(aggregate)
        state = encode_snapshot_state(snapshot)
        if seal is not None:
            state = seal(state)
        await fetch(INSERT_SNAPSHOT_SQL, last_row.tenant_id, last_row.originator_id,
                           last_row.originator_version, SNAPSHOT_TOPIC, state,
                           last_row.recorded_at, last_row.chain_hash)
    except Exception as error:
        _logger.warning("snapshot of %s v%s skipped: %s", last_row.originator_id,
                        last_row.originator_version, error)
        return False
    return True
