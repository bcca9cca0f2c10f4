"""Reads of the list read models: case lists, work queue, breaches, audit trail.

Every statement filters by tenant first. Lists page by keyset: the cursor is the sort key
of the last row returned, encoded opaquely (``encode_cursor``/``decode_cursor``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.delinquency import BUCKETS

CASE_FIELDS = """
    case_id, version, external_ref, portfolio, product,
    ledger_case_status(base_status, holds, $2) AS status, currency, placed_amount, balance,
    principal, interest, fees, paid_total,
    ledger_dpd($2, placed_at, placed_dpd, past_due_amount, cured_at, timezone) AS dpd,
    assigned_to, promise_id, promise_amount, promise_due, promise_status, last_contact_at,
    placed_at, closed_at, close_reason
"""
_LIST_CASES = """
    SELECT * FROM (
        SELECT {fields} FROM rm_cases
        WHERE tenant_id = $1
          AND ($3::text IS NULL OR portfolio = $3)
          AND ($4::text IS NULL OR assigned_to = $4)
          AND ($5::text IS NULL OR external_ref = $5)
          AND ($8::timestamptz IS NULL OR (placed_at, case_id) > ($8, $9::uuid))
          {narrowing}
    ) c
    WHERE ($6::text IS NULL OR status = $6)
      AND ($7::text IS NULL OR ledger_dpd_bucket(dpd) IS NOT DISTINCT FROM $7)
    ORDER BY placed_at, case_id
    LIMIT $10
"""
LIST_CASES_SQL = _LIST_CASES.format(fields=CASE_FIELDS, narrowing="")
# With a bucket filter: a case in bucket [lo, hi] now has its DPD anchor (migration 0021)
# within [today - hi - 1, today - lo + 1] (UTC today; a day's slack each side covers every
# debtor time zone), unless it was placed after now. The exact test above still decides.
LIST_CASES_BY_BUCKET_SQL = _LIST_CASES.format(
    fields=CASE_FIELDS,
    narrowing="AND (dpd_anchor BETWEEN $11 AND $12 OR placed_at > $2)")
# Priority (API.md): a broken latest promise first, then balance × days past due, highest first.
WORK_QUEUE_SQL = f"""
    SELECT {CASE_FIELDS},
        (promise_status = 'broken') AS broken,
        balance::numeric * ledger_dpd($2, placed_at, placed_dpd, past_due_amount, cured_at,
                                      timezone) AS exposure,
        -- contact strategies (issue 12): a due call step puts the case first
        EXISTS (SELECT 1 FROM rm_dialer d
                WHERE d.tenant_id = rm_cases.tenant_id AND d.case_id = rm_cases.case_id
                  AND d.due_at <= $2 AND (d.until IS NULL OR d.until > $2)) AS call_due
    FROM rm_cases
    WHERE tenant_id = $1 AND closed_at IS NULL AND assigned_to IS NOT DISTINCT FROM $3
    ORDER BY call_due DESC, (promise_status = 'broken') IS TRUE DESC, exposure DESC, case_id
    LIMIT $4
"""
BREACHES_SQL = """
    SELECT case_id, version, ordinal, rule, detail, agent, channel, occurred_at, recorded_at
    FROM rm_breaches
    WHERE tenant_id = $1
      AND ($2::timestamptz IS NULL OR occurred_at >= $2)
      AND ($3::timestamptz IS NULL OR occurred_at < $3)
      AND ($4::text IS NULL OR rule = $4)
      AND ($5::text IS NULL OR agent = $5)
      AND ($6::timestamptz IS NULL
           OR (occurred_at, case_id, version, ordinal) > ($6, $7::uuid, $8::int8, $9::int4))
    ORDER BY occurred_at, case_id, version, ordinal
    LIMIT $10
"""
# ``position`` is the event's own (its notification id, as in history, the feed and
# Ledger-Position), looked up by key for the page's rows; ``seq`` orders the trail and pages.
AUDIT_SQL = """
    SELECT seq, case_id, version, type, actor, occurred_at, recorded_at, amount, correlation_id,
           (SELECT s.notification_id FROM stored_events s
            WHERE s.originator_id = rm_audit.case_id AND s.originator_version = rm_audit.version)
           AS position
    FROM rm_audit
    WHERE tenant_id = $1
      AND ($2::text IS NULL OR actor = $2 OR starts_with(actor, $2 || '/')
           OR (starts_with($2, 'agent:') AND right(actor, length($2) + 1) = '/' || $2))
      AND ($3::text IS NULL OR type = $3)
      AND ($4::uuid IS NULL OR case_id = $4)
      AND ($5::timestamptz IS NULL OR recorded_at >= $5)
      AND ($6::timestamptz IS NULL OR recorded_at < $6)
      AND seq > $7
    ORDER BY seq
    LIMIT $8
"""


BUCKET_BOUNDS = {label: (low, high) for low, high, label in BUCKETS}


class BadCursor(ValueError):
    """The cursor was not produced by this list."""


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = msgspec.json.encode([kind, *values])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(kind: str, text: str, types: tuple[type, ...]) -> list[Any]:
    """The sort key in ``text``; ``BadCursor`` unless it is a ``kind`` cursor of ``types``."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        found, *values = msgspec.json.decode(raw)
        if found != kind or len(values) != len(types):
            raise BadCursor(kind)
        return [msgspec.convert(v, t) for v, t in zip(values, types, strict=True)]
    except (binascii.Error, ValueError, TypeError, msgspec.DecodeError,
            msgspec.ValidationError) as error:
        raise BadCursor(kind) from error


async def list_cases(pool: asyncpg.Pool, tenant_id: str, now: datetime, *,
                     status: str | None, portfolio: str | None, assigned_to: str | None,
                     dpd_bucket: str | None, external_ref: str | None,
                     after: list[Any] | None, limit: int) -> list[asyncpg.Record]:
    after_placed, after_id = after if after else (None, None)
    arguments = [tenant_id, now, portfolio, assigned_to, external_ref, status, dpd_bucket,
                 after_placed, after_id, limit]
    bounds = BUCKET_BOUNDS.get(dpd_bucket) if dpd_bucket is not None else None
    if bounds is None:
        return await pool.fetch(LIST_CASES_SQL, *arguments)
    low, high = bounds
    today = now.astimezone(UTC).date()
    earliest = date.min if high is None else today - timedelta(days=high + 1)
    return await pool.fetch(LIST_CASES_BY_BUCKET_SQL, *arguments, earliest,
                            today - timedelta(days=low - 1))


async def work_queue(pool: asyncpg.Pool, tenant_id: str, now: datetime,
                     agent_id: str | None, limit: int) -> list[asyncpg.Record]:
    """Open cases of ``agent_id`` (None: unassigned ones), highest priority first."""
    return await pool.fetch(WORK_QUEUE_SQL, tenant_id, now, agent_id, limit)


async def breaches(pool: asyncpg.Pool, tenant_id: str, *, start: datetime | None,
                   end: datetime | None, rule: str | None, agent_id: str | None,
                   after: list[Any] | None, limit: int) -> list[asyncpg.Record]:
    key = after or [None, None, None, None]
    return await pool.fetch(BREACHES_SQL, tenant_id, start, end, rule, agent_id, *key, limit)


async def audit_trail(pool: asyncpg.Pool, tenant_id: str, *, actor: str | None,
                      event_type: str | None, case_id: UUID | None, start: datetime | None,
                      end: datetime | None, after_seq: int, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(AUDIT_SQL, tenant_id, actor, event_type, case_id, start, end,
                            after_seq, limit)
