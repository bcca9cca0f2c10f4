"""Recovery, promise and contact metrics by strategy ``segment`` or ``arm``.

The group of a payment (or a promise) is the segment or arm the case had entered by its
business time (``rm_segment_entries``), else ``none``. As for agents and channels, a case
counts in every group one of its payments is attributed to, and a case without payments
under its current segment or arm (``rm_case_segments``), else ``none``. Contacts count in
the segment and arm the case was in when the contact was recorded.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

_COLUMN = {"segment": "segment", "arm": "arm"}
_AT_TIME = """
    coalesce((SELECT e.{col} FROM rm_segment_entries e
              WHERE e.tenant_id = $1 AND e.case_id = {row}.case_id AND e.entered_at <= {row}.{at}
              ORDER BY e.entered_at DESC, e.version DESC LIMIT 1), 'none')
"""
RECOVERY_SQL = """
    WITH cases AS (
        SELECT c.case_id, c.placed_amount, coalesce(s.{col}, 'none') AS current
        FROM rm_cases c LEFT JOIN rm_case_segments s
          ON s.tenant_id = c.tenant_id AND s.case_id = c.case_id
        WHERE c.tenant_id = $1 AND ($2::timestamptz IS NULL OR c.placed_at >= $2)
          AND ($3::timestamptz IS NULL OR c.placed_at < $3)
    ), paid AS (
        SELECT p.case_id, {group_at} AS grp,
               coalesce(sum(p.amount) FILTER (WHERE NOT p.reversed), 0) AS recovered
        FROM rm_payments p
        WHERE p.tenant_id = $1 AND ($2::timestamptz IS NULL OR p.placed_at >= $2)
          AND ($3::timestamptz IS NULL OR p.placed_at < $3)
        GROUP BY 1, 2
    ), membership AS (
        SELECT case_id, grp, recovered FROM paid
        UNION ALL
        SELECT c.case_id, c.current, 0 FROM cases c
        WHERE NOT EXISTS (SELECT 1 FROM paid p WHERE p.case_id = c.case_id)
    )
    SELECT m.grp, sum(c.placed_amount), sum(m.recovered), count(*),
           count(*) FILTER (WHERE m.recovered > 0)
    FROM membership m JOIN cases c USING (case_id)
    GROUP BY 1 ORDER BY 1
"""
PROMISES_SQL = """
    SELECT {group_at} AS grp, count(*), count(*) FILTER (WHERE p.status = 'kept'),
           count(*) FILTER (WHERE p.status = 'broken'), count(*) FILTER (WHERE p.status = 'pending')
    FROM rm_promises p
    WHERE p.tenant_id = $1 AND ($2::date IS NULL OR p.due_date >= $2)
      AND ($3::date IS NULL OR p.due_date < $3)
    GROUP BY 1 ORDER BY 1
"""
CONTACTS_SQL = """
    SELECT {col}, sum(attempts), sum(contacts), sum(right_party), sum(inbound)
    FROM rm_segment_contacts
    WHERE tenant_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
    GROUP BY 1 ORDER BY 1
"""
_SQL: dict[tuple[str, str], str] = {}
for _name, _col in _COLUMN.items():
    _SQL[("recovery", _name)] = RECOVERY_SQL.format(
        col=_col, group_at=_AT_TIME.format(col=_col, row="p", at="received_at"))
    _SQL[("promises", _name)] = PROMISES_SQL.format(
        group_at=_AT_TIME.format(col=_col, row="p", at="made_at"))
    _SQL[("contacts", _name)] = CONTACTS_SQL.format(col=_col)
STRATEGY_GROUPS = frozenset(_COLUMN)


async def recovery(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: datetime | None,
                   end: datetime | None) -> list[asyncpg.Record]:
    return await pool.fetch(_SQL[("recovery", group_by)], tenant_id, start, end)


async def promises(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: date | None,
                   end: date | None) -> list[asyncpg.Record]:
    return await pool.fetch(_SQL[("promises", group_by)], tenant_id, start, end)


async def contacts(pool: asyncpg.Pool, tenant_id: str, group_by: str, start: date | None,
                   end: date | None) -> list[asyncpg.Record]:
    return await pool.fetch(_SQL[("contacts", group_by)], tenant_id, start, end)
