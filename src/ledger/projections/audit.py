"""The ``audit`` projection: one rm_audit row per event, searchable across cases.

Rows carry who (actor), what (type, amount) and both times, never the event's data: notes
and placements can hold personal data, which the full history per case shows instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ledger.projections.framework import Envelope

COLUMNS = ["tenant_id", "seq", "case_id", "version", "type", "actor", "occurred_at",
           "recorded_at", "amount", "correlation_id"]


def _instalments_total(event: Any) -> int:
    return sum(instalment.amount for instalment in event.instalments)


AMOUNTS: dict[str, Callable[[Any], int | None]] = {
    "Placed": lambda e: e.principal + e.interest + e.fees,
    "PaymentReceived": lambda e: e.amount,
    "PaymentReversed": lambda e: e.allocation.total,
    "BalanceAdjusted": lambda e: e.amount,
    "PromiseMade": lambda e: e.amount,
    "ArrangementAgreed": _instalments_total,
    "DisputeResolved": lambda e: e.adjustment,
}


class AuditProjection:
    """rm_audit."""

    name = "audit"
    tables = ("rm_audit",)

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        records = []
        for envelope in batch:
            row, event = envelope.row, envelope.event
            amount_of = AMOUNTS.get(envelope.type)
            records.append((row.tenant_id, envelope.seq, row.originator_id,
                            row.originator_version, envelope.type, row.actor,
                            getattr(event, "timestamp", row.recorded_at), row.recorded_at,
                            amount_of(event) if amount_of and event is not None else None,
                            row.correlation_id))
        if records:
            await conn.copy_records_to_table("rm_audit", records=records, columns=COLUMNS)
