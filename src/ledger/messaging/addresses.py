"""The ``message_addresses`` projection: who holds a phone number or email, and which cases
owe a validation notice.

``rm_message_addresses`` maps a keyed digest (HMAC-SHA256 under a key derived from the
server secret) of each normalised phone (E.164) and email of a placed debtor to the case, so
an inbound STOP finds every case holding the number without any address in clear. The
debtor is opened with the case's data key; an erased case's rows are deleted (and a replay
after erasure finds nothing to open). ``rm_validation_notices`` lists cases whose first
outbound right-party contact needs a validation notice; the sweep settles them.

It needs the cipher, so it runs in a runner of its own inside ``ledger serve``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from eventsourcing.utils import get_topic

from ledger.domain.case import Case
from ledger.domain.messaging.optout import e164, normalise_email
from ledger.privacy.sealing import DebtorCipher
from ledger.projections.framework import Envelope, is_case_event

log = logging.getLogger("ledger.messages")
ADD_SQL = """
    INSERT INTO rm_message_addresses (tenant_id, channel, digest, case_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::uuid[])
    ON CONFLICT DO NOTHING
"""
FORGET_SQL = "DELETE FROM rm_message_addresses WHERE case_id = $1"
FIRST_CONTACT_SQL = """
    INSERT INTO rm_validation_notices (tenant_id, case_id, first_communication_at)
    VALUES ($1, $2, $3)
    ON CONFLICT (case_id) DO UPDATE
    SET first_communication_at = least(rm_validation_notices.first_communication_at,
                                       EXCLUDED.first_communication_at)
"""
NOTICE_SENT_SQL = """
    UPDATE rm_validation_notices
    SET notice_sent_at = least(coalesce(notice_sent_at, $2), $2) WHERE case_id = $1
"""
SETTLED_SQL = "UPDATE rm_validation_notices SET flagged = true WHERE case_id = $1"


def digest(key: bytes, tenant_id: str, channel: str, normalised: str) -> bytes:
    return hmac.new(key, f"{tenant_id}\x00{channel}\x00{normalised}".encode(),
                    hashlib.sha256).digest()


def digest_key(server_secret: bytes) -> bytes:
    return hmac.new(server_secret, b"ledger:message-addresses:v1", hashlib.sha256).digest()


class AddressIndexProjection:
    """rm_message_addresses and rm_validation_notices."""

    name = "message_addresses"
    tables = ("rm_message_addresses", "rm_validation_notices")

    def __init__(self, cipher: DebtorCipher, key: bytes) -> None:
        self.cipher = cipher
        self.key = key

    async def _keys(self, ids: set[UUID]) -> dict[UUID, Any]:
        # One query: a key wrapped by another master key must neither stop the index nor
        # hold its transaction open with one query per case; such a case is skipped.
        return await self.cipher.data_keys.get_openable(ids)

    async def _debtors(self, placed: list[Envelope]) -> dict[UUID, dict[str, Any]]:
        keys = await self._keys({e.row.originator_id for e in placed})
        found = {}
        for envelope in placed:
            row = envelope.row
            state = self.cipher.open(row.originator_id, row.tenant_id, row.topic, row.state,
                                     keys.get(row.originator_id))
            debtor = msgspec.json.decode(state).get("debtor") or {}
            if not debtor.get("erased"):
                found[row.originator_id] = debtor
        return found

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        case_events = [e for e in batch if is_case_event(e)]
        placed = [e for e in case_events if e.type == "Placed"]
        debtors = await self._debtors(placed) if placed else {}
        columns: list[list[Any]] = [[], [], [], []]
        for envelope in case_events:
            row, event = envelope.row, envelope.event
            if envelope.type == "Placed" and row.originator_id in debtors:
                debtor = debtors[row.originator_id]
                for channel, raw, normalise in (
                        *(("sms", p, e164) for p in debtor.get("phones") or ()),
                        *(("email", m, normalise_email) for m in debtor.get("emails") or ())):
                    value = normalise(raw) if isinstance(raw, str) else None
                    if value:
                        for column, item in zip(columns, (
                                row.tenant_id, channel,
                                digest(self.key, row.tenant_id, channel, value),
                                row.originator_id), strict=True):
                            column.append(item)
            elif envelope.type == "PersonalDataErased":
                await self._flush(conn, columns)
                await conn.execute(FORGET_SQL, row.originator_id)
            elif envelope.type == "ContactRecorded" and event is not None and (
                    str(event.direction) == "outbound" and str(event.outcome) == "right_party"):
                await conn.execute(FIRST_CONTACT_SQL, row.tenant_id, row.originator_id,
                                   event.timestamp)
            elif envelope.type == "MessageQueued" and event is not None and event.itemization:
                await conn.execute(NOTICE_SENT_SQL, row.originator_id, event.send_at)
            elif envelope.type == "ComplianceBreachFound" and event is not None and (
                    event.rule == "validation_notice_late"):
                await conn.execute(SETTLED_SQL, row.originator_id)
        await self._flush(conn, columns)

    async def _flush(self, conn: asyncpg.Connection, columns: list[list[Any]]) -> None:
        if columns[0]:
            await conn.execute(ADD_SQL, *columns)
            for column in columns:
                column.clear()


# Placements (or erasures) the index has not applied yet, visible to this transaction.
BEHIND_SQL = """
    SELECT EXISTS (
        SELECT 1 FROM projection_positions p JOIN stored_events e
          ON (e.transaction_id, e.notification_id) > (p.transaction_id, p.notification_id)
        WHERE p.name = 'message_addresses'
          AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
          AND e.topic = ANY($1::text[]))
"""
INDEXED_TOPICS = [get_topic(Case.Placed), get_topic(Case.PersonalDataErased)]
FRESH_WAIT_SECONDS = 5.0


async def wait_until_indexed(pool: asyncpg.Pool, timeout: float = FRESH_WAIT_SECONDS) -> bool:
    """Wait (bounded) until the index holds every placement committed before this call, so a
    STOP right after a placement finds it. False if it is still behind after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await pool.fetchval(BEHIND_SQL, INDEXED_TOPICS):
        if loop.time() > deadline:
            log.warning("address index still behind after %.1f s", timeout)
            return False
        await asyncio.sleep(0.02)
    return True


async def cases_holding(pool: asyncpg.Pool, key: bytes, tenant_id: str, channel: str,
                        normalised: str) -> list[UUID]:
    """Cases of ``tenant_id`` holding the address (after the index caught up, ≤ 5 s)."""
    await wait_until_indexed(pool)
    rows = await pool.fetch(
        "SELECT case_id FROM rm_message_addresses WHERE tenant_id = $1 AND channel = $2 "
        "AND digest = $3 ORDER BY case_id",
        tenant_id, channel, digest(key, tenant_id, channel, normalised))
    return [r["case_id"] for r in rows]
