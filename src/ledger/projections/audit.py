"""The ``audit`` projection: one rm_audit row per event, searchable across cases.

Rows carry who (actor), what (type, amount) and both times, never the event's data: notes
and placements can hold personal data, which the full history per case shows instead.

In a rebuild (``bulk``) the rows are derived by PostgreSQL from ``stored_events`` with
``INSERT … SELECT`` (``DERIVE_SQL``, the same rules as ``AMOUNTS`` in jsonb), so the
million-row load costs the Python process nothing but statements. Better still, the rebuild
runs ``derive_ahead`` on a connection of its own: every event up to the feed's head as the
rebuild starts, in large chunks, without waiting for the reader's pages, so the table is
loaded (and ``flush`` returns, for the indexes to be built) while the other projections are
still folding. Pages then only add rows past that head. A range of cursors below the feed's
horizon holds exactly the events a reader saw there (no later commit can land in it), and a
row's ``seq`` is its offset in feed order, so both ways number rows alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from ledger.eventstore import Cursor
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


DERIVED_AMOUNTS = frozenset({"Placed", "PaymentReceived", "BalanceAdjusted", "PromiseMade",
                             "PaymentReversed", "ArrangementAgreed", "DisputeResolved"})
"""The types ``DERIVE_SQL`` gives an amount: must be ``AMOUNTS``' (a test checks)."""
STAMPED_HEX = b'{"timestamp":"'.hex()
"""How the codec's JSON of every case event starts (``timestamp`` is its first attribute):
then the time is read off the text, and the JSON is parsed only for an amount; any other
start (another encoder, another order) takes the parsed ``timestamp``."""
# Rows after cursor ($1, $2) up to ($3, $4) (at most $5 of them), numbered $6 + 1, … in feed
# order; those up to ($7, $8) are numbered but not inserted (derived ahead already). A case
# event's state is the JSON of its attributes (the codec's format, no upcasting: no event class
# is past version 1); other streams' events get the record time and no amount.
# Why it is shaped so (a million rows a rebuild, measured with EXPLAIN ANALYZE): the page is a
# subquery read once, not a CTE that a second reference would spill to disk; a case event's type
# is the rest of its topic (no string reversals); amounts come from ``json``, not ``jsonb``
# (one or three fields read: parsing into jsonb costs more than scanning the text again).
DERIVE_SQL = """
    INSERT INTO rm_audit (tenant_id, seq, case_id, version, type, actor, occurred_at,
                          recorded_at, amount, correlation_id)
    SELECT e.tenant_id, $6::int8 + e.n, e.originator_id, e.originator_version, e.type,
           e.actor,
           CASE WHEN NOT e.is_case THEN e.recorded_at
                WHEN e.stamp IS NOT NULL THEN e.stamp::timestamptz
                ELSE coalesce((e.j ->> 'timestamp')::timestamptz, e.recorded_at) END,
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
                     FROM json_array_elements(e.j -> 'instalments') AS i)
                WHEN e.type = 'DisputeResolved' THEN (e.j ->> 'adjustment')::int8
           END,
           e.correlation_id
    FROM (
        -- Each level computed once per row (OFFSET 0: not inlined into every use above).
        SELECT f.*,
               CASE WHEN f.is_case AND f.stamped THEN split_part(
                   encode(substring(f.state FROM 15 FOR 48), 'escape'), '"', 1) END AS stamp,
               CASE WHEN f.is_case AND (NOT f.stamped OR f.type IN (AMOUNT_TYPES))
                    THEN convert_from(f.state, 'UTF8')::json END AS j
        FROM (
            SELECT p.*,
                   CASE WHEN p.is_case THEN substr(p.topic, length($9::text) + 1)
                        ELSE reverse(split_part(split_part(reverse(p.topic), '.', 1), ':', 1))
                   END AS type,
                   substring(p.state FROM 1 FOR 14) = decode(STAMPED_HEX, 'hex') AS stamped
            FROM (
                SELECT s.tenant_id, s.originator_id, s.originator_version, s.topic, s.state,
                       s.actor, s.recorded_at, s.correlation_id, s.transaction_id,
                       s.notification_id, starts_with(s.topic, $9) AS is_case,
                       row_number() OVER (ORDER BY s.transaction_id, s.notification_id) AS n
                FROM stored_events s
                WHERE (s.transaction_id, s.notification_id) > ($1::xid8, $2::int8)
                  AND (s.transaction_id, s.notification_id) <= ($3::xid8, $4::int8)
                ORDER BY s.transaction_id, s.notification_id LIMIT $5
            ) AS p
            WHERE (p.transaction_id, p.notification_id) > ($7::xid8, $8::int8)
            OFFSET 0
        ) AS f
        OFFSET 0
    ) AS e
""".replace("STAMPED_HEX", f"'{STAMPED_HEX}'").replace(
    "AMOUNT_TYPES", ", ".join(f"'{name}'" for name in sorted(DERIVED_AMOUNTS)))
# Where a chunk derived ahead ends: the cursor of the $5th row after ($1, $2), up to ($3, $4)
# (none when fewer are left: the chunk ends at the head). Read off the feed index alone.
CHUNK_END_SQL = """
    SELECT transaction_id, notification_id FROM stored_events
    WHERE (transaction_id, notification_id) > ($1::xid8, $2::int8)
      AND (transaction_id, notification_id) <= ($3::xid8, $4::int8)
    ORDER BY transaction_id, notification_id OFFSET $5 - 1 LIMIT 1
"""
AHEAD_CHUNK = 50_000
"""Rows per statement when deriving ahead (each commits by itself)."""


class AuditProjection:
    """rm_audit."""

    name = "audit"
    tables = ("rm_audit",)
    bulk = False
    """In a rebuild: rows derived by PostgreSQL (``DERIVE_SQL``)."""
    keys_after_load = True
    """A rebuild adds rm_audit's primary key with its indexes: the load only appends."""
    ahead: Cursor | None = None
    """Set by the rebuild while ``derive_ahead`` covers the feed up to this cursor."""
    ahead_task: asyncio.Task[None] | None = None
    """That work, which ``flush`` waits for."""

    async def derive_ahead(self, conn: asyncpg.Connection, head: Cursor) -> None:
        """Insert the rows of every event up to ``head`` (a cursor below the horizon)."""
        after, numbered = Cursor.START, 0
        while after < head:
            end = await conn.fetchrow(CHUNK_END_SQL, after.transaction_id, after.notification_id,
                                      head.transaction_id, head.notification_id, AHEAD_CHUNK)
            until = Cursor(end[0], end[1]) if end is not None else head
            await conn.execute(DERIVE_SQL, after.transaction_id, after.notification_id,
                               until.transaction_id, until.notification_id, AHEAD_CHUNK,
                               numbered, 0, 0, CASE_TOPIC_PREFIX)
            after, numbered = until, numbered + AHEAD_CHUNK  # a full chunk unless the last

    async def flush(self, conn: asyncpg.Connection) -> None:
        if self.ahead_task is not None:
            await self.ahead_task
        self.ahead, self.ahead_task = None, None

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        if self.bulk:
            if batch:
                first, last = batch[0].row, batch[-1].row
                done = self.ahead or Cursor.START
                if last.cursor > done:  # ``first`` itself included: the range starts after
                    await conn.execute(DERIVE_SQL, first.transaction_id,
                                       first.notification_id - 1, last.transaction_id,
                                       last.notification_id, len(batch), batch[0].seq - 1,
                                       done.transaction_id, done.notification_id,
                                       CASE_TOPIC_PREFIX)
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
