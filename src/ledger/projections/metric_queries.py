"""Metrics over the read models (definitions in README, "Read models and metrics").

Figures are integers of minor units summed in SQL; rates are computed here from those exact
sums and rounded to 4 decimals, so they reconcile with the amounts shown beside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

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
CONTACTS_SQL = """
    SELECT CASE WHEN $4 = 'agent' THEN agent ELSE channel END AS grp, sum(attempts),
           sum(contacts), sum(right_party), sum(inbound)
    FROM rm_contact_stats
    WHERE tenant_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
    GROUP BY 1 ORDER BY 1
"""
# DPD at an instant t from the stored anchor (migration 0021): 0 once cured, else
# greatest(placed DPD, local date of t - anchor), ledger_dpd's formula rearranged; for cases
# placed by t that is local date - anchor. So the cases are first counted per (time zone,
# anchor, cure and close flags) — a few thousand groups however many cases — and local dates
# are worked out once per time zone of the tenant (found by a skip scan of the zone index).
# The bucket is width_bucket's index into the lower bounds (0: not past due).
_BUCKET_AT = """width_bucket(CASE WHEN g.{cured} THEN 0 ELSE z.{day} - g.dpd_anchor END,
                             $4::int4[])"""
ROLL_SQL = f"""
    WITH RECURSIVE zone(name) AS (
        SELECT min(timezone) FROM rm_case_ageing WHERE tenant_id = $1
        UNION ALL
        SELECT (SELECT min(timezone) FROM rm_case_ageing WHERE tenant_id = $1 AND timezone > name)
        FROM zone WHERE name IS NOT NULL
    ), z AS MATERIALIZED (
        SELECT name, ($2 AT TIME ZONE name)::date AS start_day,
               ($3 AT TIME ZONE name)::date AS end_day
        FROM zone WHERE name IS NOT NULL
    ), g AS MATERIALIZED (
        SELECT timezone, dpd_anchor,
               coalesce(cured_at <= $2, false) AS cured_at_start,
               coalesce(cured_at <= $3, false) AS cured_at_end,
               (closed_at IS NULL OR closed_at > $3) AS open_at_end, count(*) AS cases
        FROM rm_case_ageing
        WHERE tenant_id = $1 AND placed_at <= $2 AND (closed_at IS NULL OR closed_at > $2)
        GROUP BY 1, 2, 3, 4, 5
    )
    SELECT {_BUCKET_AT.format(cured="cured_at_start", day="start_day")} AS start_bucket,
           {_BUCKET_AT.format(cured="cured_at_end", day="end_day")} AS end_bucket,
           g.open_at_end, g.cured_at_end, sum(g.cases)::int8
    FROM g JOIN z ON z.name = g.timezone
    GROUP BY 1, 2, 3, 4
"""
# Rollups (migration 0021): a few rows per placement day and group. Exact for periods given
# as UTC days, which is all the API asks; other instants go to the per-case statements.
RECOVERY_ROLLUP_SQL = """
    SELECT CASE WHEN $4 = 'cohort' THEN to_char(placed_day, 'YYYY-MM') ELSE grp END AS g,
           sum(placed_amount)::int8, sum(recovered)::int8, sum(cases)::int8,
           sum(cases_paid)::int8
    FROM rm_recovery_rollup
    WHERE tenant_id = $1 AND dimension = $5
      AND ($2::date IS NULL OR placed_day >= $2) AND ($3::date IS NULL OR placed_day < $3)
    GROUP BY 1 HAVING sum(cases) > 0 ORDER BY 1
"""
PROMISES_SQL = """
    SELECT grp, sum(made)::int8, sum(kept)::int8, sum(broken)::int8, sum(pending)::int8
    FROM rm_promise_rollup
    WHERE tenant_id = $1 AND dimension = $4
      AND ($2::date IS NULL OR due_date >= $2) AND ($3::date IS NULL OR due_date < $3)
    GROUP BY 1 HAVING sum(made) > 0 ORDER BY 1
"""
BUCKET_LABELS = [label for _, _, label in BUCKETS]
BUCKET_LOWS = [low for low, _, _ in BUCKETS]
BUCKET_BY_INDEX = [None, *BUCKET_LABELS]
"""width_bucket(days, BUCKET_LOWS) → label (index 0: below the first bucket)."""
# The last bucket cannot roll further: its "roll" is staying in it.
NEXT_BUCKET = dict(zip(BUCKET_LABELS, [*BUCKET_LABELS[1:], BUCKET_LABELS[-1]], strict=True))


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 decimals; None when there is nothing to divide by."""
    return round(int(part) / int(whole), 4) if whole else None


def _utc_day(moment: datetime | None) -> date | None | bool:
    """The UTC date of a midnight-UTC instant, None for None, False for any other instant."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.date() if utc == datetime(utc.year, utc.month, utc.day, tzinfo=UTC) else False


async def recovery(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: datetime | None,
                   end: datetime | None) -> list[asyncpg.Record]:
    first, following = _utc_day(start), _utc_day(end)
    if first is not False and following is not False:
        dimension = "portfolio" if group_by == "cohort" else group_by
        return await pool.fetch(RECOVERY_ROLLUP_SQL, tenant_id, first, following, group_by,
                                dimension)
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
    rows = await pool.fetch(ROLL_SQL, tenant_id, month_start - moment, month_end - moment,
                            BUCKET_LOWS)
    counts = {label: [0, 0, 0] for label in BUCKET_LABELS}
    for start_index, end_index, open_at_end, cured, count in rows:
        start_bucket, end_bucket = BUCKET_BY_INDEX[start_index], BUCKET_BY_INDEX[end_index]
        if start_bucket is None:
            continue  # not past due (or cured) at the start: not in any bucket
        figures = counts[start_bucket]
        figures[0] += count
        if cured:
            figures[2] += count
        elif open_at_end and end_bucket is not None and end_bucket == NEXT_BUCKET[start_bucket]:
            figures[1] += count
    return counts
