"""The ``compliance`` projection: one rm_breaches row per rule a recorded contact broke."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ledger.projections.framework import Envelope

INSERT_SQL = """
    INSERT INTO rm_breaches (tenant_id, case_id, version, ordinal, rule, detail, agent, channel,
                             occurred_at, recorded_at)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::int8[], $4::int4[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::timestamptz[],
                         $10::timestamptz[])
"""


class BreachesProjection:
    """rm_breaches."""

    name = "compliance"
    tables = ("rm_breaches",)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        rows = []
        for envelope in batch:
            if envelope.type != "ContactRecorded" or not envelope.event.breaches:
                continue
            event, row = envelope.event, envelope.row
            for ordinal, breach in enumerate(event.breaches):
                rows.append((row.tenant_id, row.originator_id, row.originator_version, ordinal,
                             breach.rule, breach.detail, event.agent_id, str(event.channel),
                             event.timestamp, row.recorded_at))
        if rows:
            await conn.execute(INSERT_SQL, *[list(column) for column in zip(*rows, strict=True)])
