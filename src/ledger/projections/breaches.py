"""The ``compliance`` projection: one rm_breaches row per rule a recorded contact broke,
one per ``ComplianceBreachFound`` (a rule broken by something else: a late validation
notice), and one per complaint left unanswered past its deadline (``complaint_overdue``)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ledger.projections.framework import Envelope

COLUMNS = ["tenant_id", "case_id", "version", "ordinal", "rule", "detail", "agent", "channel",
           "occurred_at", "recorded_at"]


def complaint_overdue_row(envelope: Envelope) -> tuple[object, ...]:
    """A complaint unanswered at its deadline (issue 15): the breach happened then."""
    event, row = envelope.event, envelope.row
    detail = f"complaint {event.complaint_id} had no final response by its deadline"
    return (row.tenant_id, row.originator_id, row.originator_version, 0, "complaint_overdue",
            detail, event.agent_id, event.channel, event.timestamp, row.recorded_at)


class BreachesProjection:
    """rm_breaches."""

    name = "compliance"
    tables = ("rm_breaches",)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        rows = []
        for envelope in batch:
            kind = envelope.type
            if kind == "ContactRecorded":  # the most frequent type, tested first
                event = envelope.event
                if event is None or not event.breaches:
                    continue
                row = envelope.row
                for ordinal, breach in enumerate(event.breaches):
                    rows.append((row.tenant_id, row.originator_id, row.originator_version,
                                 ordinal, breach.rule, breach.detail, event.agent_id,
                                 str(event.channel), event.timestamp, row.recorded_at))
                continue
            if kind == "ComplianceBreachFound" and envelope.event is not None:
                event, row = envelope.event, envelope.row
                rows.append((row.tenant_id, row.originator_id, row.originator_version, 0,
                             event.rule, event.detail, None, str(event.channel),
                             event.timestamp, row.recorded_at))
                continue
            if kind == "ComplaintOverdue" and envelope.event is not None:
                rows.append(complaint_overdue_row(envelope))
        if rows:
            await conn.copy_records_to_table("rm_breaches", records=rows, columns=COLUMNS)
