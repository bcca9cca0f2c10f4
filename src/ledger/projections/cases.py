"""The ``cases`` projection: rm_cases (lists, work queue, deadlines), rm_payments and
rm_promises (per-row detail), rm_case_ageing (roll rates) and the recovery and promise rollups.

Per batch: take the touched cases' facts from a bounded in-memory cache (reading only the
misses from rm_cases), fold the events in, then write the changed cases' rows with binary
COPY (after deleting their old rows) and add the rollup deltas.

The cache is only valid while it mirrors what is committed. A batch whose transaction fails
leaves folded but uncommitted facts behind, and another owner or a rebuild swap may move the
position: so the cache is dropped whenever a batch does not start right after the last one
this instance applied, and whenever the runner calls ``reset()`` (position reloaded,
ownership lost or taken).

``bulk`` (set by ``rebuild``, whose tables nobody reads until the swap and which restarts
from zero if interrupted): changed cases are written only when they leave the cache and at
``flush()``, so a case touched by many batches is written once; no rollup deltas are kept,
the rebuild fills the rollups from the finished tables in SQL afterwards (``finishing``:
``rollups.RECOMPUTE_*``, the same figures), and ``flush()`` empties the cache, whose entries
carry no contributions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from ledger.projections import rollups
from ledger.projections.case_facts import DECODER, CaseFacts, facts_from_placement
from ledger.projections.case_fold import PAYMENTS, PROMISES, apply_event
from ledger.projections.case_rows import (
    AGEING_COLUMNS, CASE_COLUMNS, PAYMENT_COLUMNS, PROMISE_COLUMNS, add_delta, ageing_row,
    case_row, dpd_anchor, payment_rows, promise_contribution, promise_rows,
    recovery_contribution,
)
from ledger.projections.framework import Envelope
from ledger.workers import record_skip
from ledger.workers.metrics import WORKER_SKIPPED

log = logging.getLogger(__name__)

LOAD_FACTS_SQL = """
    SELECT c.facts FROM rm_cases c
    JOIN unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
      ON c.tenant_id = k.tenant_id AND c.case_id = k.case_id
"""
DELETE_SQL = """
    DELETE FROM {table} t USING unnest($1::text[], $2::uuid[]) AS k(tenant_id, case_id)
    WHERE t.tenant_id = k.tenant_id AND t.case_id = k.case_id
"""
CACHE_CASES = 5_000
"""About 6 kB each: enough for a busy floor's working set, flat memory however many cases."""
MAX_PENDING_DELTAS = 200_000
CHANGED = 4
"""Flag: an event changed the case (its rm_cases row at least must be rewritten)."""


class Entry:
    """A cached case: its facts and what was last written for it."""

    __slots__ = ("ageing", "dirty", "facts", "promises", "recovery", "stored")

    def __init__(self, facts: CaseFacts, stored: bool, contributions: bool = True) -> None:
        self.facts = facts
        self.stored = stored
        self.dirty = 0
        self.recovery, self.promises, self.ageing = {}, {}, None
        if stored:  # the rows in the tables were derived from exactly these facts
            if contributions:
                self.recovery = recovery_contribution(facts, payment_rows(facts))
                self.promises = promise_contribution(promise_rows(facts))
            self.ageing = ageing_row(facts, dpd_anchor(facts))


class CasesProjection:
    """rm_cases, rm_payments, rm_promises, rm_case_ageing and the two rollups."""

    name = "cases"
    tables = ("rm_cases", "rm_payments", "rm_promises", "rm_case_ageing",
              "rm_recovery_rollup", "rm_promise_rollup")

    finishing = (*rollups.FILL_RECOVERY_SQLS, rollups.FILL_PROMISES_SQL)
    """Run by a rebuild after ``flush()`` (bulk mode: no deltas were added)."""
    # Class-level defaults, so subclasses need not call __init__.
    capacity = CACHE_CASES
    bulk = False
    _next_seq: int | None = None
    _pending: tuple[dict[Any, list[int]], dict[Any, list[int]]] | None = None
    """Rollup deltas not yet added (in bulk mode they add up across batches)."""

    def __init__(self, cache_cases: int = CACHE_CASES) -> None:
        self.capacity = cache_cases
        self._cache: dict[Any, Entry] = {}

    def reset(self) -> None:
        """Forget the cache (the next batch reads its cases from the tables)."""
        self._cache = {}
        self._next_seq = None
        self._pending = None

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        if batch and (batch[0].seq != self._next_seq or not hasattr(self, "_cache")):
            self.reset()
        self._next_seq = None  # until this batch has been applied in full
        case_events = [e for e in batch if e.event is not None]  # only case events decode
        if case_events:
            await self._apply(conn, case_events)
        if batch:
            self._next_seq = batch[-1].seq + 1

    async def _apply(self, conn: asyncpg.Connection, case_events: list[Envelope]) -> None:
        cache = self._cache
        missing = {(e.row.tenant_id, e.row.originator_id) for e in case_events
                   if e.type != "Placed" and e.row.originator_id not in cache}
        if missing:
            keys = list(missing)
            for record in await conn.fetch(LOAD_FACTS_SQL, [k[0] for k in keys],
                                           [k[1] for k in keys]):
                facts = DECODER.decode(record[0])
                cache[facts.case_id] = Entry(facts, stored=True, contributions=not self.bulk)
        touched: dict[Any, Entry] = {}
        unknown: list[str] = []
        for envelope in case_events:
            case_id = envelope.row.originator_id
            entry = cache.pop(case_id, None)  # re-inserted below: the dict's order is LRU
            if envelope.type == "Placed":
                if entry is None:
                    entry = Entry(facts_from_placement(envelope.event), stored=False)
                else:  # never expected: a stream has one placement
                    entry.facts = facts_from_placement(envelope.event)
                entry.dirty |= PAYMENTS | PROMISES
            elif entry is None:
                unknown.append(f"{case_id}/{envelope.event.originator_version}")
                continue
            elif envelope.event.originator_version > entry.facts.version:
                entry.dirty |= apply_event(entry.facts, envelope.type, envelope.event) | CHANGED
            cache[case_id] = touched[case_id] = entry
        if unknown:
            # Counted in the batch's transaction (a retried batch counts once), never silent.
            await record_skip(conn, "projection:cases", "unknown_case", unknown)
            WORKER_SKIPPED.labels("projection:cases", "unknown_case").inc(len(unknown))
            log.warning("projection cases: %d event(s) of unknown cases skipped, last %s",
                        len(unknown), unknown[-1])
        if not self.bulk:
            await self._write(conn, [e for e in touched.values() if e.dirty])
        await self._evict(conn)

    async def _evict(self, conn: asyncpg.Connection) -> None:
        excess = len(self._cache) - self.capacity
        if excess <= 0:
            return
        excess += self.capacity // 10  # evict in chunks: fewer, larger writes in bulk mode
        leaving = []
        for case_id in list(self._cache)[:excess]:
            entry = self._cache.pop(case_id)
            if entry.dirty:
                leaving.append(entry)
        await self._write(conn, leaving)

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write every changed cached case and the rollups (the end of a bulk load)."""
        await self._write(conn, [e for e in self._cache.values() if e.dirty])
        await self._add_deltas(conn)
        if self.bulk:
            self.reset()  # its entries carry no contributions to diff against

    async def _write(self, conn: asyncpg.Connection, entries: list[Entry]) -> None:
        if not entries:
            return
        cases, payments, promises, ageing = [], [], [], []
        rewrite: dict[str, list[Entry]] = {"rm_cases": [], "rm_payments": [],
                                           "rm_promises": [], "rm_case_ageing": []}
        deltas = not self.bulk  # in bulk the rollups are filled at flush
        recovery_delta, promise_delta = self._deltas()
        for entry in entries:
            facts, flags = entry.facts, entry.dirty
            row = case_row(facts)
            cases.append(row)
            if entry.stored:
                rewrite["rm_cases"].append(entry)
            if deltas or flags & PAYMENTS:
                pay = payment_rows(facts)
                if deltas:
                    recovery = recovery_contribution(facts, pay)
                    add_delta(recovery_delta, entry.recovery, recovery)
                    entry.recovery = recovery
            if flags & PAYMENTS:
                payments += pay
                if entry.stored:
                    rewrite["rm_payments"].append(entry)
            if flags & PROMISES:
                rows = promise_rows(facts)
                promises += rows
                if deltas:
                    contribution = promise_contribution(rows)
                    add_delta(promise_delta, entry.promises, contribution)
                    entry.promises = contribution
                if entry.stored:
                    rewrite["rm_promises"].append(entry)
            aged = ageing_row(facts, row[CASE_COLUMNS.index("dpd_anchor")])
            if aged != entry.ageing:
                if entry.ageing is not None:
                    rewrite["rm_case_ageing"].append(entry)
                if aged is not None:
                    ageing.append(aged)
                entry.ageing = aged
            entry.stored, entry.dirty = True, 0
        for table, stale in rewrite.items():
            if stale:
                await conn.execute(DELETE_SQL.format(table=table),
                                   [e.facts.tenant_id for e in stale],
                                   [e.facts.case_id for e in stale])
        for table, records, columns in (("rm_cases", cases, CASE_COLUMNS),
                                        ("rm_payments", payments, PAYMENT_COLUMNS),
                                        ("rm_promises", promises, PROMISE_COLUMNS),
                                        ("rm_case_ageing", ageing, AGEING_COLUMNS)):
            if records:
                await conn.copy_records_to_table(table, records=records, columns=columns)
        if not self.bulk or len(recovery_delta) + len(promise_delta) > MAX_PENDING_DELTAS:
            await self._add_deltas(conn)

    def _deltas(self) -> tuple[dict[Any, list[int]], dict[Any, list[int]]]:
        if self._pending is None:
            self._pending = ({}, {})
        return self._pending

    async def _add_deltas(self, conn: asyncpg.Connection) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await rollups.add(conn, *pending)
