"""Rollup tables of the cases projection: signed-delta writes and a from-scratch recomputation.

The projection adds each batch's deltas (new contribution − last written contribution per
case); ``RECOMPUTE_*`` rebuild the same figures from rm_cases, rm_payments and rm_promises in
one statement each, which is what migration 0021 backfilled with and what the tests compare
the incremental sums against.
"""

from __future__ import annotations

from typing import Any

import asyncpg

ADD_RECOVERY_SQL = """
    INSERT INTO rm_recovery_rollup AS r (tenant_id, dimension, placed_day, grp, placed_amount,
                                         recovered, cases, cases_paid)
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int8[],
                         $6::int8[], $7::int8[], $8::int8[])
    ON CONFLICT (tenant_id, dimension, placed_day, grp) DO UPDATE SET
        placed_amount = r.placed_amount + EXCLUDED.placed_amount,
        recovered = r.recovered + EXCLUDED.recovered, cases = r.cases + EXCLUDED.cases,
        cases_paid = r.cases_paid + EXCLUDED.cases_paid
"""
ADD_PROMISES_SQL = """
    INSERT INTO rm_promise_rollup AS r (tenant_id, dimension, due_date, grp, made, kept,
                                        broken, pending)
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int8[],
                         $6::int8[], $7::int8[], $8::int8[])
    ON CONFLICT (tenant_id, dimension, due_date, grp) DO UPDATE SET
        made = r.made + EXCLUDED.made, kept = r.kept + EXCLUDED.kept,
        broken = r.broken + EXCLUDED.broken, pending = r.pending + EXCLUDED.pending
"""
RECOMPUTE_RECOVERY_SQL = """
    WITH dims(dimension) AS (VALUES ('agent'), ('channel')),
    paid AS (
        SELECT p.tenant_id, p.case_id, d.dimension,
               CASE d.dimension WHEN 'agent' THEN p.agent ELSE p.channel END AS grp,
               coalesce(sum(p.amount) FILTER (WHERE NOT p.reversed), 0) AS recovered
        FROM rm_payments p CROSS JOIN dims d GROUP BY 1, 2, 3, 4
    ), membership AS (
        SELECT * FROM paid
        UNION ALL
        SELECT c.tenant_id, c.case_id, d.dimension,
               CASE d.dimension WHEN 'agent' THEN coalesce(c.assigned_to, 'unassigned')
                    ELSE 'none' END, 0
        FROM rm_cases c CROSS JOIN dims d
        WHERE NOT EXISTS (SELECT 1 FROM rm_payments p
                          WHERE p.tenant_id = c.tenant_id AND p.case_id = c.case_id)
        UNION ALL
        SELECT tenant_id, case_id, 'portfolio', portfolio, paid_total FROM rm_cases
    )
    SELECT m.tenant_id, m.dimension, (c.placed_at AT TIME ZONE 'UTC')::date, m.grp,
           sum(c.placed_amount)::int8, sum(m.recovered)::int8, count(*),
           count(*) FILTER (WHERE m.recovered > 0)
    FROM membership m JOIN rm_cases c USING (tenant_id, case_id)
    GROUP BY 1, 2, 3, 4
"""
RECOMPUTE_PROMISES_SQL = """
    SELECT tenant_id, d.dimension, due_date,
           CASE d.dimension WHEN 'agent' THEN agent ELSE portfolio END, count(*),
           count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'broken'),
           count(*) FILTER (WHERE status = 'pending')
    FROM rm_promises CROSS JOIN (VALUES ('agent'), ('portfolio')) AS d(dimension)
    GROUP BY 1, 2, 3, 4
"""
# Fill empty rollup tables from rm_cases, rm_payments and rm_promises: what a rebuild does
# after its load instead of adding a delta per changed case.
_FILL_RECOVERY = ("INSERT INTO rm_recovery_rollup (tenant_id, dimension, placed_day, grp, "
                  "placed_amount, recovered, cases, cases_paid) ")
# The recovery figures one dimension at a time, as three statements that a rebuild runs side by
# side (one core each) instead of one that joins every membership row: a case counts once
# under its portfolio (no join: rm_cases has it all), and under each agent and channel its
# payments came through (the case's assignee, and channel 'none', when it has none).
_FILL_RECOVERY_BY_PAYMENT = _FILL_RECOVERY + """
    WITH membership AS (
        SELECT tenant_id, case_id, {payment_group} AS grp,
               coalesce(sum(amount) FILTER (WHERE NOT reversed), 0) AS recovered
        FROM rm_payments GROUP BY 1, 2, 3
        UNION ALL
        SELECT c.tenant_id, c.case_id, {unpaid_group}, 0 FROM rm_cases c
        WHERE NOT EXISTS (SELECT 1 FROM rm_payments p
                          WHERE p.tenant_id = c.tenant_id AND p.case_id = c.case_id)
    )
    SELECT m.tenant_id, '{dimension}', (c.placed_at AT TIME ZONE 'UTC')::date, m.grp,
           sum(c.placed_amount)::int8, sum(m.recovered)::int8, count(*),
           count(*) FILTER (WHERE m.recovered > 0)
    FROM membership m JOIN rm_cases c USING (tenant_id, case_id)
    GROUP BY 1, 3, 4
"""
FILL_RECOVERY_SQLS = (
    _FILL_RECOVERY + """
    SELECT tenant_id, 'portfolio', (placed_at AT TIME ZONE 'UTC')::date, portfolio,
           sum(placed_amount)::int8, sum(paid_total)::int8, count(*),
           count(*) FILTER (WHERE paid_total > 0)
    FROM rm_cases GROUP BY 1, 3, 4
""",
    _FILL_RECOVERY_BY_PAYMENT.format(dimension="agent", payment_group="agent",
                                     unpaid_group="coalesce(c.assigned_to, 'unassigned')"),
    _FILL_RECOVERY_BY_PAYMENT.format(dimension="channel", payment_group="channel",
                                     unpaid_group="'none'"),
)
FILL_PROMISES_SQL = ("INSERT INTO rm_promise_rollup (tenant_id, dimension, due_date, grp, made, "
                     "kept, broken, pending) " + RECOMPUTE_PROMISES_SQL)
# What the rollup tables hold, without rows that sum to nothing (deltas can leave those).
STORED_RECOVERY_SQL = "SELECT * FROM rm_recovery_rollup WHERE cases <> 0"
STORED_PROMISES_SQL = "SELECT * FROM rm_promise_rollup WHERE made <> 0"


def _rows(totals: dict[Any, list[int]]) -> list[list[Any]]:
    rows = [(*key, *values) for key, values in totals.items() if any(values)]
    if not rows:
        return []
    return [list(column) for column in zip(*rows, strict=True)]


async def add(conn: asyncpg.Connection, recovery: dict[Any, list[int]],
              promises: dict[Any, list[int]]) -> None:
    """Add the accumulated deltas (rows of zeros are skipped)."""
    # Sorted keys: two writers adding to overlapping rows lock them in the same order.
    for sql, totals in ((ADD_RECOVERY_SQL, recovery), (ADD_PROMISES_SQL, promises)):
        columns = _rows(dict(sorted(totals.items())))
        if columns:
            await conn.execute(sql, *columns)


async def recomputed(executor: asyncpg.Connection | asyncpg.Pool) -> tuple[set[tuple], set[tuple]]:
    """The rollups as a from-scratch recomputation gives them (for checks and tests)."""
    recovery = {tuple(r) for r in await executor.fetch(RECOMPUTE_RECOVERY_SQL)}
    promises = {tuple(r) for r in await executor.fetch(RECOMPUTE_PROMISES_SQL)}
    return recovery, promises


async def stored(executor: asyncpg.Connection | asyncpg.Pool) -> tuple[set[tuple], set[tuple]]:
    recovery = {tuple(r) for r in await executor.fetch(STORED_RECOVERY_SQL)}
    promises = {tuple(r) for r in await executor.fetch(STORED_PROMISES_SQL)}
    return recovery, promises
