"""Metrics over the read models (definitions in README, "Read models and metrics").

Figures are integers of minor units summed in SQL; rates are computed here from those exact
sums and rounded to 4 decimals, so they reconcile with the amounts shown beside them.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from ledger.domain.delinquency import BUCKETS

_PLACED_IN = "($2::timestamptz IS NULL OR {col} >= $2) AND ($3::timestamptz IS NULL OR {col} < $3)"
RECOVERY_BY_CASE_SQL = f"""
    SELECT CASE WHEN $4 = 'portfolio' THEN portfolio
                ELSE to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM') END AS grp,
           sum(placed_amount), sum(paid_total), count(*), count(*) FILTER (WHERE paid_total > 0)
    FROM rm_cases
    WHERE tenant_id = $1 AND {_PLACED_IN.format(col="placed_at")}
    GROUP BY 1 ORDER BY 1
"""
# A case belongs to each group a payment of it is attributed to; a case without payments
# belongs to its current assignee (agent) or to "none" (channel).
RECOVERY_BY_PAYMENT_SQL = f"""
    WITH cases AS (
        SELECT case_id, placed_amount, assigned_to FROM rm_cases
        WHERE tenant_id = $1 AND {_PLACED_IN.format(col="placed_at")}
    ), paid AS (
        SELECT case_id, CASE WHEN $4 = 'agent' THEN agent ELSE channel END AS grp,
               coalesce(sum(amount) FILTER (WHERE NOT reversed), 0) AS recovered
        FROM rm_payments
        WHERE tenant_id = $1 AND {_PLACED_IN.format(col="placed_at")}
        GROUP BY 1, 2
    ), membership AS (
        SELECT case_id, grp, recovered FROM paid
        UNION ALL
        SELECT c.case_id,
               CASE WHEN $4 = 'agent' THEN coalesce(c.assigned_to, 'unassigned') ELSE 'none' END,
               0
        FROM cases c WHERE NOT EXISTS (SELECT 1 FROM paid p WHERE p.case_id = c.case_id)
    )
    SELECT m.grp, sum(c.placed_amount), sum(m.recovered), count(*),
           count(*) FILTER (WHERE m.recovered > 0)
    FROM membership m JOIN cases c USING (case_id)
    GROUP BY 1 ORDER BY 1
"""
COHORT_PLACED_SQL = """
    SELECT coalesce(sum(placed_amount), 0), count(*) FROM rm_cases
    WHERE tenant_id = $1 AND placed_at >= $2 AND placed_at < $3
"""
COHORT_MONTHLY_SQL = """
    SELECT greatest(0, (extract(year FROM received_at AT TIME ZONE 'UTC') * 12
                        + extract(month FROM received_at AT TIME ZONE 'UTC'))
                     - (extract(year FROM placed_at AT TIME ZONE 'UTC') * 12
                        + extract(month FROM placed_at AT TIME ZONE 'UTC')))::int AS month,
           sum(amount) FILTER (WHERE NOT reversed)
    FROM rm_payments
    WHERE tenant_id = $1 AND placed_at >= $2 AND placed_at < $3
    GROUP BY 1 ORDER BY 1
"""
PROMISES_SQL = """
    SELECT CASE WHEN $4 = 'agent' THEN agent ELSE portfolio END AS grp, count(*),
           count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'broken'),
           count(*) FILTER (WHERE status = 'pending')
    FROM rm_promises
    WHERE tenant_id = $1 AND ($2::date IS NULL OR due_date >= $2)
      AND ($3::date IS NULL OR due_date < $3)
    GROUP BY 1 ORDER BY 1
"""
CONTACTS_SQL = """
    SELECT CASE WHEN $4 = 'agent' THEN agent ELSE channel END AS grp, sum(attempts),
           sum(contacts), sum(right_party), sum(inbound)
    FROM rm_contact_stats
    WHERE tenant_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
    GROUP BY 1 ORDER BY 1
"""
ROLL_SQL = """
    SELECT ledger_dpd_bucket(ledger_dpd($2, placed_at, placed_dpd, past_due_amount, cured_at,
                                        timezone)) AS start_bucket,
           ledger_dpd_bucket(ledger_dpd($3, placed_at, placed_dpd, past_due_amount, cured_at,
                                        timezone)) AS end_bucket,
           (closed_at IS NULL OR closed_at > $3) AS open_at_end,
           (cured_at IS NOT NULL AND cured_at <= $3) AS cured,
           count(*)
    FROM rm_cases
    WHERE tenant_id = $1 AND placed_at <= $2 AND (closed_at IS NULL OR closed_at > $2)
    GROUP BY 1, 2, 3, 4
"""
BUCKET_LABELS = [label for _, _, label in BUCKETS]
# The last bucket cannot roll further: its "roll" is staying in it.
NEXT_BUCKET = dict(zip(BUCKET_LABELS, [*BUCKET_LABELS[1:], BUCKET_LABELS[-1]], strict=True))


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 decimals; None when there is nothing to divide by."""
    return round(int(part) / int(whole), 4) if whole else None


async def recovery(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: datetime | None,
                   end: datetime | None) -> list[asyncpg.Record]:
    sql = RECOVERY_BY_CASE_SQL if group_by in ("portfolio", "cohort") else RECOVERY_BY_PAYMENT_SQL
    return await pool.fetch(sql, tenant_id, start, end, group_by)


async def liquidation(pool: asyncpg.Pool, tenant_id: str, start: datetime, end: datetime,
                      months: int) -> tuple[int, int, list[int]]:
    """(placed amount, cases, net recovered per month since placement for ``months`` months)."""
    placed, cases = await pool.fetchrow(COHORT_PLACED_SQL, tenant_id, start, end)
    per_month = [0] * months
    for month, amount in await pool.fetch(COHORT_MONTHLY_SQL, tenant_id, start, end):
        if month >= len(per_month):
            per_month.extend([0] * (month + 1 - len(per_month)))
        per_month[month] += int(amount or 0)
    return int(placed), int(cases), per_month


async def promises(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: date | None,
                   end: date | None) -> list[asyncpg.Record]:
    return await pool.fetch(PROMISES_SQL, tenant_id, start, end, group_by)


async def contacts(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: date | None,
                   end: date | None) -> list[asyncpg.Record]:
    return await pool.fetch(CONTACTS_SQL, tenant_id, start, end, group_by)


async def roll_rates(pool: asyncpg.Pool, tenant_id: str, month_start: datetime,
                     month_end: datetime) -> dict[str, list[int]]:
    """Per start bucket: [open cases, rolled to the next bucket, cured] over the month."""
    moment = month_start.resolution  # one microsecond: "end of" = just before the next month
    rows = await pool.fetch(ROLL_SQL, tenant_id, month_start - moment, month_end - moment)
    counts = {label: [0, 0, 0] for label in BUCKET_LABELS}
    for start_bucket, end_bucket, open_at_end, cured, count in rows:
        if start_bucket is None:
            continue  # not past due (or cured) at the start: not in any bucket
        figures = counts[start_bucket]
        figures[0] += count
        if cured:
            figures[2] += count
        elif open_at_end and end_bucket is not None and end_bucket == NEXT_BUCKET[start_bucket]:
            figures[1] += count
    return counts
