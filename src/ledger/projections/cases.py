"""The ``cases`` projection: rm_cases (lists, work queue, deadlines, roll rates),
rm_payments (recovery by portfolio, cohort, agent, channel) and rm_promises.

Per batch: load the stored facts of the touched cases in one query, fold the batch's events
into them in memory, then write every touched case's row and re-derive the payment and
promise rows of the cases whose inputs changed, all with set-based statements.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from ledger.projections.case_facts import DECODER, ENCODER, CaseFacts, facts_from_placement
from ledger.projections.case_fold import PAYMENTS, PROMISES, apply_event
from ledger.projections.framework import Envelope, is_case_event

log = logging.getLogger(__name__)

LOAD_FACTS_SQL = """
    SELECT c.facts FROM rm_cases c
    JOIN unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
      ON c.tenant_id = k.tenant_id AND c.case_id = k.case_id
"""
_CASE_COLUMNS = (
    "tenant_id, case_id, version, external_ref, portfolio, product, currency, base_status, "
    "holds, placed_at, placed_amount, balance, principal, interest, fees, paid_total, "
    "past_due_amount, placed_dpd, timezone, cured_at, assigned_to, promise_id, promise_amount, "
    "promise_due, promise_status, last_contact_at, closed_at, close_reason, next_deadline, facts"
)
_CASE_TYPES = (
    "text[], uuid[], int8[], text[], text[], text[], text[], text[], text[], timestamptz[], "
    "int8[], int8[], int8[], int8[], int8[], int8[], int8[], int4[], text[], timestamptz[], "
    "text[], uuid[], int8[], date[], text[], timestamptz[], timestamptz[], text[], "
    "timestamptz[], bytea[]"
)
_UNNEST = ", ".join(f"${i + 1}::{t.strip()}" for i, t in enumerate(_CASE_TYPES.split(",")))
_UPDATES = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}"
                     for c in _CASE_COLUMNS.split(",")[2:])
UPSERT_CASES_SQL = f"""
    INSERT INTO rm_cases ({_CASE_COLUMNS})
    SELECT u.tenant_id, u.case_id, u.version, u.external_ref, u.portfolio, u.product, u.currency,
        u.base_status, u.holds::tstzmultirange, u.placed_at, u.placed_amount, u.balance,
        u.principal, u.interest, u.fees, u.paid_total, u.past_due_amount, u.placed_dpd,
        u.timezone, u.cured_at, u.assigned_to, u.promise_id, u.promise_amount, u.promise_due,
        u.promise_status, u.last_contact_at, u.closed_at, u.close_reason, u.next_deadline,
        u.facts
    FROM unnest({_UNNEST}) AS u({_CASE_COLUMNS})
    ON CONFLICT (tenant_id, case_id) DO UPDATE SET {_UPDATES}
"""
DELETE_PAYMENTS_SQL = """
    DELETE FROM rm_payments p USING unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
    WHERE p.tenant_id = k.tenant_id AND p.case_id = k.case_id
"""
INSERT_PAYMENTS_SQL = """
    INSERT INTO rm_payments (tenant_id, case_id, external_id, amount, received_at, reversed,
                             agent, channel, portfolio, placed_at)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int8[], $5::timestamptz[],
                         $6::bool[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
"""
DELETE_PROMISES_SQL = """
    DELETE FROM rm_promises p USING unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
    WHERE p.tenant_id = k.tenant_id AND p.case_id = k.case_id
"""
INSERT_PROMISES_SQL = """
    INSERT INTO rm_promises (tenant_id, case_id, promise_id, agent, portfolio, amount, made_at,
                             due_date, status)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                         $6::int8[], $7::timestamptz[], $8::date[], $9::text[])
"""


def case_row(facts: CaseFacts) -> tuple[Any, ...]:
    """The rm_cases row of ``facts`` (column order of ``_CASE_COLUMNS``)."""
    latest = facts.promises[-1] if facts.promises else None
    return (
        facts.tenant_id, facts.case_id, facts.version, facts.external_ref, facts.portfolio,
        facts.product, facts.currency, facts.base_status, facts.hold_windows(),
        facts.placed_at, facts.placed_amount, facts.balance, facts.principal, facts.interest,
        facts.fees, facts.payments_total - facts.reversals_total, facts.past_due_amount,
        facts.placed_dpd, facts.timezone, facts.cured_at(), facts.assigned_to,
        latest and latest.promise_id, latest and latest.amount, latest and latest.due_date,
        latest and latest.status, facts.last_contact_at, facts.closed_at, facts.close_reason,
        facts.next_deadline(), ENCODER.encode(facts),
    )


def payment_rows(facts: CaseFacts) -> list[tuple[Any, ...]]:
    """One row per payment, attributed by business time (see ``CaseFacts.agent_at``)."""
    return [
        (facts.tenant_id, facts.case_id, p.external_id, p.amount, p.received_at, p.reversed,
         facts.agent_at(p.received_at), facts.channel_at(p.received_at), facts.portfolio,
         facts.placed_at)
        for p in facts.payments
    ]


def promise_rows(facts: CaseFacts) -> list[tuple[Any, ...]]:
    return [
        (facts.tenant_id, facts.case_id, p.promise_id, p.agent or "unassigned",
         facts.portfolio, p.amount, p.made_at, p.due_date, p.status)
        for p in facts.promises
    ]


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


class CasesProjection:
    """rm_cases, rm_payments and rm_promises."""

    name = "cases"
    tables = ("rm_cases", "rm_payments", "rm_promises")

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        case_events = [e for e in batch if is_case_event(e)]
        if not case_events:
            return
        keys = list(dict.fromkeys((e.row.tenant_id, e.row.originator_id) for e in case_events))
        stored = await conn.fetch(LOAD_FACTS_SQL, [k[0] for k in keys], [k[1] for k in keys])
        facts_by_id: dict[Any, CaseFacts] = {}
        for record in stored:
            facts = DECODER.decode(record[0])
            facts_by_id[facts.case_id] = facts
        dirty: dict[Any, int] = {}
        for envelope in case_events:
            case_id = envelope.row.originator_id
            if envelope.type == "Placed":
                facts_by_id[case_id] = facts_from_placement(envelope.event)
                dirty[case_id] = PAYMENTS | PROMISES
                continue
            facts = facts_by_id.get(case_id)
            if facts is None or envelope.event.originator_version <= facts.version:
                if facts is None:
                    log.warning("event for unknown case %s skipped", case_id)
                continue  # already folded (never expected: positions move atomically)
            dirty[case_id] = dirty.get(case_id, 0) | apply_event(facts, envelope.type,
                                                                 envelope.event)
        await self._write(conn, facts_by_id, dirty)

    async def _write(self, conn: asyncpg.Connection, facts_by_id: dict[Any, CaseFacts],
                     dirty: dict[Any, int]) -> None:
        touched = [facts_by_id[case_id] for case_id in dirty]
        await conn.execute(UPSERT_CASES_SQL, *_columns([case_row(f) for f in touched], 30))
        for flag, delete_sql, insert_sql, rows_of, width in (
            (PAYMENTS, DELETE_PAYMENTS_SQL, INSERT_PAYMENTS_SQL, payment_rows, 10),
            (PROMISES, DELETE_PROMISES_SQL, INSERT_PROMISES_SQL, promise_rows, 9),
        ):
            changed = [f for f in touched if dirty[f.case_id] & flag]
            if not changed:
                continue
            await conn.execute(delete_sql, [f.tenant_id for f in changed],
                               [f.case_id for f in changed])
            rows = [row for f in changed for row in rows_of(f)]
            if rows:
                await conn.execute(insert_sql, *_columns(rows, width))
