"""Queries over rm_approvals and rm_complaints: lists, the supervisor's pending approvals,
and the approvals and complaints metrics (periods are half-open ``[from, to)``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

APPROVAL_FIELDS = """approval_id, case_id, kind, status, reasons, request::text AS request,
    requested_at, requested_by, requester_agent, requester_role, decided_at, decided_by,
    decision_reason, seq"""
APPROVALS_SQL = f"""
    SELECT {APPROVAL_FIELDS} FROM rm_approvals
    WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
      AND ($3::uuid IS NULL OR case_id = $3) AND seq > $4
    ORDER BY seq LIMIT $5
"""
COMPLAINT_GROUPS = {"category": "category", "root_cause": "coalesce(root_cause, 'unresolved')",
                    "agent": "coalesce(agent, 'unassigned')"}
COMPLAINT_METRICS_SQL = """
    SELECT {group} AS grp, count(*) AS received,
        count(resolved_at) AS resolved,
        count(*) FILTER (WHERE resolved_at IS NULL) AS open,
        count(*) FILTER (WHERE overdue
                         OR (resolved_at IS NULL
                             AND respond_by <= $4::timestamptz - interval '1 second')
                         OR resolved_at >= respond_by + interval '1 second') AS overdue,
        count(*) FILTER (WHERE outcome = 'upheld') AS upheld,
        count(*) FILTER (WHERE outcome = 'partial') AS partial,
        count(*) FILTER (WHERE outcome = 'rejected') AS rejected,
        coalesce(sum(redress), 0) AS redress_amount,
        percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (
            ORDER BY extract(epoch FROM resolved_at - received_at) / 3600.0
        ) FILTER (WHERE resolved_at IS NOT NULL) AS hours
    FROM rm_complaints
    WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR received_at >= $2)
      AND ($3::timestamptz IS NULL OR received_at < $3)
    GROUP BY 1 ORDER BY 1
"""
APPROVAL_GROUPS = {"decision": "status", "requester": "coalesce(requester_agent, requested_by)"}
APPROVAL_METRICS_SQL = """
    SELECT {group} AS grp, count(*) AS requested,
        count(*) FILTER (WHERE status = 'approved') AS approved,
        count(*) FILTER (WHERE status = 'declined') AS declined,
        count(*) FILTER (WHERE status = 'pending') AS pending,
        percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
            ORDER BY extract(epoch FROM decided_at - requested_at) / 3600.0
        ) FILTER (WHERE decided_at IS NOT NULL) AS hours
    FROM rm_approvals
    WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR requested_at >= $2)
      AND ($3::timestamptz IS NULL OR requested_at < $3)
    GROUP BY 1 ORDER BY 1
"""


async def approvals(pool: asyncpg.Pool, tenant_id: str, *, status: str | None,
                    case_id: UUID | None, after_seq: int, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(APPROVALS_SQL, tenant_id, status, case_id, after_seq, limit)


async def complaint_metrics(pool: asyncpg.Pool, tenant_id: str, group_by: str,
                            start: datetime | None, end: datetime | None,
                            now: datetime) -> list[asyncpg.Record]:
    sql = COMPLAINT_METRICS_SQL.format(group=COMPLAINT_GROUPS[group_by])
    return await pool.fetch(sql, tenant_id, start, end, now)


async def approval_metrics(pool: asyncpg.Pool, tenant_id: str, group_by: str,
                           start: datetime | None, end: datetime | None) -> list[asyncpg.Record]:
    sql = APPROVAL_METRICS_SQL.format(group=APPROVAL_GROUPS[group_by])
    return await pool.fetch(sql, tenant_id, start, end)
