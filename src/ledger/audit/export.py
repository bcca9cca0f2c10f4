"""``ledger export``: a tenant's events as NDJSON with everything needed to check the chain.

Each line carries the stored columns the chain covers (``state`` exactly as stored, base64),
the stored ``chain_hash`` and the ``previous_chain_hash`` it was chained to, plus readable
``data`` (personal data opened with the case key, or shown erased). Lines are in (case,
version) order; pages are read by keyset, one page in memory at a time.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.audit.events import event_data, event_type, open_rows
from ledger.eventstore import EventCodec, StoredEventRow
from ledger.eventstore.chain import epoch_microseconds
from ledger.eventstore.codec import StreamCipher

PAGE_SIZE = 1000
_ZERO_ID = UUID(int=0)
# The predecessor's hash comes from a primary-key look-up per row, so an export that starts
# mid-stream (--since, --case of a long case) can still be checked from its first line.
EXPORT_SQL = """
    SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id,
           e.transaction_id, e.recorded_at, e.tenant_id, e.actor, e.correlation_id,
           e.causation_id, e.chain_hash, p.chain_hash,
           r.state_sha256, r.redacted_at, r.public_key, r.signature
    FROM stored_events e
    LEFT JOIN stored_events p
           ON p.originator_id = e.originator_id AND p.originator_version = e.originator_version - 1
    LEFT JOIN redactions r
           ON r.case_id = e.originator_id AND r.version = e.originator_version
    WHERE e.tenant_id = $1 AND ($2::uuid IS NULL OR e.originator_id = $2)
      AND ($3::timestamptz IS NULL OR e.recorded_at >= $3)
      AND (e.originator_id, e.originator_version) > ($4, $5)
    ORDER BY e.originator_id, e.originator_version LIMIT $6
"""
_encoder = msgspec.json.Encoder()


def _redaction(record: Any) -> dict[str, Any] | None:
    """The signed redaction record of a row redacted by ``ledger redact-legacy``, if any."""
    if record[13] is None:
        return None
    return {"state_sha256": bytes(record[13]).hex(),
            "redacted_at": record[14].astimezone(UTC).isoformat(),
            "public_key": bytes(record[15]).hex(), "signature": bytes(record[16]).hex()}


def _line(row: StoredEventRow, previous: bytes | None, event: Any,
          redaction: dict[str, Any] | None = None) -> bytes:
    if previous is None and row.originator_version == 1:
        previous = bytes(32)
    document = {
        "case_id": str(row.originator_id), "version": row.originator_version,
        "type": event_type(row.topic), "topic": row.topic, "tenant_id": row.tenant_id,
        "actor": row.actor, "occurred_at": event.timestamp.astimezone(UTC).isoformat(),
        "recorded_at": row.recorded_at.astimezone(UTC).isoformat(),
        "recorded_at_us": epoch_microseconds(row.recorded_at), "position": row.notification_id,
        "state": base64.b64encode(row.state).decode("ascii"),
        "previous_chain_hash": None if previous is None else bytes(previous).hex(),
        "chain_hash": bytes(row.chain_hash).hex(), "data": event_data(event),
    }
    if redaction is not None:
        document["redaction"] = redaction
    return _encoder.encode(document) + b"\n"


async def export_lines(fetch: Callable[..., Awaitable[list[Any]]], codec: EventCodec,
                       cipher: StreamCipher | None, tenant_id: str, *,
                       case_id: UUID | None = None, since: datetime | None = None,
                       page_size: int = PAGE_SIZE) -> AsyncIterator[bytes]:
    """NDJSON lines of the tenant's events (one case, recorded at or after ``since``)."""
    last_id, last_version = _ZERO_ID, 0
    while True:
        records = await fetch(EXPORT_SQL, tenant_id, case_id, since, last_id, last_version,
                              page_size)
        rows = [StoredEventRow(*record[:12]) for record in records]
        events = await open_rows(codec, cipher, rows)
        for record, row, event in zip(records, rows, events, strict=True):
            yield _line(row, record[12], event, _redaction(record))
        if len(records) < page_size:
            return
        last_id, last_version = rows[-1].originator_id, rows[-1].originator_version
