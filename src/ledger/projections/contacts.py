"""The ``contacts`` projection: contact counts per UTC day, agent and channel.

Contacts are immutable facts, so per-day sums are exact and a batch only adds to them.
``attempts``, ``contacts`` and ``right_party`` count outbound contacts (so the rates are
shares of attempts); inbound contacts are counted apart in ``inbound``.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ledger.projections.case_facts import UNASSIGNED
from ledger.projections.framework import Envelope

MAX_PENDING_KEYS = 100_000
CONNECTED = frozenset({"right_party", "third_party"})
ADD_SQL = """
    INSERT INTO rm_contact_stats AS s (tenant_id, day, agent, channel, attempts, contacts,
                                       right_party, inbound)
    SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int8[],
                         $6::int8[], $7::int8[], $8::int8[])
    ON CONFLICT (tenant_id, day, agent, channel) DO UPDATE SET
        attempts = s.attempts + EXCLUDED.attempts, contacts = s.contacts + EXCLUDED.contacts,
        right_party = s.right_party + EXCLUDED.right_party, inbound = s.inbound + EXCLUDED.inbound
"""
COLUMNS = ["tenant_id", "day", "agent", "channel", "attempts", "contacts", "right_party",
           "inbound"]
# Bulk: the sums go in with binary COPY through a staging table (asyncpg encodes arrays for
# ``unnest`` element by element, several times slower for the tens of thousands of keys).
STAGE_SQL = """
    CREATE TEMP TABLE IF NOT EXISTS contact_stats_staging (LIKE rm_contact_stats)
    ON COMMIT DROP
"""
ADD_STAGED_SQL = """
    INSERT INTO rm_contact_stats AS s (tenant_id, day, agent, channel, attempts, contacts,
                                       right_party, inbound)
    SELECT tenant_id, day, agent, channel, attempts, contacts, right_party, inbound
    FROM contact_stats_staging
    ON CONFLICT (tenant_id, day, agent, channel) DO UPDATE SET
        attempts = s.attempts + EXCLUDED.attempts, contacts = s.contacts + EXCLUDED.contacts,
        right_party = s.right_party + EXCLUDED.right_party, inbound = s.inbound + EXCLUDED.inbound
"""


class ContactsProjection:
    """rm_contact_stats."""

    name = "contacts"
    tables = ("rm_contact_stats",)
    bulk = False
    """In a rebuild: sum across batches, write at ``flush`` (or when the sums grow large)."""
    _pending: dict[tuple[str, object, str, str], list[int]] | None = None

    def reset(self) -> None:
        self._pending = None

    async def flush(self, conn: asyncpg.Connection) -> None:
        totals, self._pending = self._pending, None
        if not totals:
            return
        rows = [(*key, *counts) for key, counts in totals.items()]
        if self.bulk:
            await conn.execute(STAGE_SQL)
            await conn.copy_records_to_table("contact_stats_staging", records=rows,
                                             columns=COLUMNS)
            await conn.execute(ADD_STAGED_SQL)
            await conn.execute("TRUNCATE contact_stats_staging")
        else:
            await conn.execute(ADD_SQL, *[list(column) for column in zip(*rows, strict=True)])

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        if self._pending is None or not self.bulk:
            self._pending = {}
        totals = self._pending
        for envelope in batch:
            if envelope.type != "ContactRecorded" or envelope.event is None:
                continue
            event = envelope.event
            key = (envelope.row.tenant_id, event.timestamp.date(), event.agent_id or UNASSIGNED,
                   str(event.channel))
            counts = totals.setdefault(key, [0, 0, 0, 0])
            if str(event.direction) == "inbound":
                counts[3] += 1
                continue
            outcome = str(event.outcome)
            counts[0] += 1
            counts[1] += outcome in CONNECTED
            counts[2] += outcome == "right_party"
        if not self.bulk or len(totals) > MAX_PENDING_KEYS:
            await self.flush(conn)
