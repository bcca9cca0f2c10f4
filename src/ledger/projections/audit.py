"""The ``audit`` projection: one rm_audit row per event, searchable across cases.

Rows carry who (actor), what (type, amount) and both times, never the event's data: notes
and placements can hold personal data, which the full history per case shows instead.

In a rebuild (``bulk``) the rows of a batch are derived by PostgreSQL from ``stored_events``
in one ``INSERT … SELECT`` over the batch's cursor range (``DERIVE_SQL``, the same rules as
``AMOUNTS`` in jsonb), so the million-row load costs the Python process nothing but the
statement. A page is every committed row between its first and last cursor (rows below the
feed's horizon cannot appear later), so the range holds exactly the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ledger.projections.framework import CASE_TOPIC_PREFIX, Envelope

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


# A case event's state is the JSON of its attributes (the codec's format, no upcasting: no
# event class is past version 1); other streams' events get the record time and no amount.
DERIVE_SQL = """
    INSERT INTO rm_audit (tenant_id, seq, case_id, version, type, actor, occurred_at,
                          recorded_at, amount, correlation_id)
    SELECT e.tenant_id, $5::int8 + e.n, e.originator_id, e.originator_version, e.type, e.actor,
           CASE WHEN e.is_case THEN coalesce((e.j ->> 'timestamp')::timestamptz, e.recorded_at)
                ELSE e.recorded_at END,
           e.recorded_at,
           CASE WHEN NOT e.is_case THEN NULL
                WHEN e.type = 'Placed' THEN (e.j ->> 'principal')::int8
                    + (e.j ->> 'interest')::int8 + (e.j ->> 'fees')::int8
                WHEN e.type IN ('PaymentReceived', 'BalanceAdjusted', 'PromiseMade')
                    THEN (e.j ->> 'amount')::int8
                WHEN e.type = 'PaymentReversed' THEN
                    coalesce((e.j -> 'allocation' ->> 'fees')::int8, 0)
                    + coalesce((e.j -> 'allocation' ->> 'interest')::int8, 0)
                    + coalesce((e.j -> 'allocation' ->> 'principal')::int8, 0)
                    + coalesce((e.j -> 'allocation' ->> 'credit')::int8, 0)
                WHEN e.type = 'ArrangementAgreed' THEN
                    (SELECT coalesce(sum((i ->> 'amount')::int8), 0)::int8
                     FROM jsonb_array_elements(e.j -> 'instalments') AS i)
                WHEN e.type = 'DisputeResolved' THEN (e.j ->> 'adjustment')::int8
           END,
           e.correlation_id
    FROM (
        SELECT s.*, k.is_case, regexp_replace(s.topic, '^.*[.:]', '') AS type,
               CASE WHEN k.is_case THEN convert_from(s.state, 'UTF8')::jsonb END AS j,
               row_number() OVER (ORDER BY s.transaction_id, s.notification_id) AS n
        FROM stored_events s, LATERAL (SELECT starts_with(s.topic, $6) AS is_case) AS k
        WHERE (s.transaction_id, s.notification_id) >= ($1::xid8, $2::int8)
          AND (s.transaction_id, s.notification_id) <= ($3::xid8, $4::int8)
    ) AS e
"""
DERIVED_AMOUNTS = frozenset({"Placed", "PaymentReceived", "BalanceAdjusted", "PromiseMade",
                             "PaymentReversed", "ArrangementAgreed", "DisputeResolved"})
"""The types ``DERIVE_SQL`` gives an amount: must be ``AMOUNTS``' (a test checks)."""


class AuditProjection:
    """rm_audit."""

    name = "audit"
    tables = ("rm_audit",)
    bulk = False
    """In a rebuild: rows derived by PostgreSQL (``DERIVE_SQL``)."""

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        if self.bulk:
            if batch:
                first, last = batch[0], batch[-1].row
                await conn.execute(DERIVE_SQL, first.row.transaction_id,
                                   first.row.notification_id, last.transaction_id,
                                   last.notification_id, first.seq - 1, CASE_TOPIC_PREFIX)
            return
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
