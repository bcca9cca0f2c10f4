"""The ``strategies`` projection: segments, arms and the dialer's candidate windows.

Folds each case's events into ``PlanFacts`` (no personal data) and keeps: the current
segment entry (``rm_case_segments``; none after ``SegmentLeft``) and every entry and exit
(``rm_segment_entries``, an exit as segment and arm ``none``, for metrics by segment or arm at
a payment's business time), contact counts by segment and arm, the score
models a tenant uses, and ``rm_dialer``: the windows in which a case's next action is a due
call (``ledger.domain.strategy.plan.call_windows``, the same rule the plan uses). Strategy
documents come from the feed too (``Strategy.VersionSaved``), so a rebuild needs nothing else.

``bulk`` (a rebuild): case facts stay in a bounded in-memory cache instead of being read and
written every batch; a case's facts, current segment and dialer rows are written when it
leaves the cache and at ``flush()``, contact counts added at ``flush()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.strategy.document import Action, StrategyDocument
from ledger.eventstore import EventCodec
from ledger.projections.framework import Envelope, event_type
from ledger.projections.plan_facts import (
    CHANNEL_ACTION, CONNECTED, DECODER, ENCODER, NONE, Entry, PlanFacts, done as _done,
    window_rows,
)
from ledger.projections.strategies_sql import (
    AUTO_COLUMNS,
    CONTACTS_SQL,
    DELETE_AUTO_SQL,
    DELETE_DIALER_SQL,
    DELETE_SEGMENT_SQL,
    DIALER_COLUMNS,
    ENTRY_SQL,
    LOAD_FACTS_SQL,
    LOAD_VERSION_SQL,
    MODEL_SQL,
    SAVE_VERSION_SQL,
    UPSERT_FACTS_SQL,
    UPSERT_SEGMENT_SQL,
)

STRATEGY_TOPIC_PREFIX = "ledger.domain.strategy."
DOCUMENT_DECODER = msgspec.json.Decoder(StrategyDocument)
_codec = EventCodec()

CACHE_CASES = 5_000
"""Cases whose facts a bulk load keeps in memory (a few hundred bytes each)."""
MAX_PENDING_CONTACT_KEYS = 100_000


class StrategiesProjection:
    """rm_case_segments, rm_segment_entries, rm_segment_contacts, rm_score_models, rm_dialer."""

    name = "strategies"
    tables = ("rm_plan_facts", "rm_strategy_versions", "rm_case_segments", "rm_segment_entries",
              "rm_segment_contacts", "rm_score_models", "rm_dialer", "rm_auto_steps")
    bulk = False

    def __init__(self, cache_cases: int = CACHE_CASES) -> None:
        self.capacity = cache_cases
        self.reset()

    def reset(self) -> None:
        self._documents: dict[tuple[str, UUID, int], StrategyDocument] = {}
        # Bulk mode only: facts by case (dict order is LRU), each case's tenant, the cases
        # changed since written, those whose segment entry changed, and the contact counts.
        self._facts: dict[UUID, PlanFacts] = {}
        self._tenants: dict[UUID, str] = {}
        self._dirty: set[UUID] = set()
        self._entered: set[UUID] = set()
        self._contacts: dict[tuple[str, Any, str, str], list[int]] = {}

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Write every changed cached case and the contact counts (the end of a bulk load)."""
        await self._write_cached(conn, list(self._dirty))
        await self._add_contacts(conn, self._contacts)
        self.reset()

    async def _document(self, conn: asyncpg.Connection, tenant_id: str, strategy_id: UUID,
                        version: int) -> StrategyDocument | None:
        key = (tenant_id, strategy_id, version)
        found = self._documents.get(key)
        if found is None:
            raw = await conn.fetchval(LOAD_VERSION_SQL, tenant_id, strategy_id, version)
            if raw is None:
                return None
            found = self._documents[key] = DOCUMENT_DECODER.decode(raw)
        return found

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        case_events = []
        for envelope in batch:
            if envelope.event is not None:  # a case event (most of the feed): no topic test
                case_events.append(envelope)
                continue
            topic = envelope.row.topic
            if topic.startswith(STRATEGY_TOPIC_PREFIX) and event_type(topic) == "VersionSaved":
                await self._save_version(conn, envelope)
        if case_events:
            await self._apply_cases(conn, case_events)

    async def _save_version(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        row = envelope.row
        event = _codec.decode(row.originator_id, row.originator_version, row.topic, row.state)
        self._documents[(row.tenant_id, row.originator_id, event.number)] = event.document
        await conn.execute(SAVE_VERSION_SQL, row.tenant_id, row.originator_id, event.number,
                           msgspec.json.encode(event.document))

    async def _load(self, conn: asyncpg.Connection,
                    keys: list[tuple[str, UUID]]) -> dict[UUID, PlanFacts]:
        if not keys:
            return {}
        return {r[0]: DECODER.decode(r[1]) for r in await conn.fetch(
            LOAD_FACTS_SQL, [k[0] for k in keys], [k[1] for k in keys])}

    async def _cached(self, conn: asyncpg.Connection,
                      envelopes: list[Envelope]) -> dict[UUID, PlanFacts]:
        """The bulk cache, with the batch's cases that left it read back (a case placed in
        this batch has nothing stored to read)."""
        facts, missing, seen = self._facts, [], set()
        for envelope in envelopes:
            case_id = envelope.row.originator_id
            if case_id not in seen:
                seen.add(case_id)
                if case_id not in facts and envelope.type != "Placed":
                    missing.append((envelope.row.tenant_id, case_id))
        for case_id, loaded in (await self._load(conn, missing)).items():
            facts[case_id] = loaded
        return facts

    async def _apply_cases(self, conn: asyncpg.Connection, envelopes: list[Envelope]) -> None:
        if self.bulk:
            known = await self._cached(conn, envelopes)
            contacts = self._contacts
        else:
            known = await self._load(conn, list({(e.row.tenant_id, e.row.originator_id)
                                                 for e in envelopes}))
            contacts = {}
        touched: dict[UUID, str] = {}
        entries: list[tuple[Any, ...]] = []
        for envelope in envelopes:
            tenant, case_id, event = envelope.row.tenant_id, envelope.row.originator_id, envelope.event
            kind = envelope.type
            if kind == "Placed":
                known[case_id] = PlanFacts(timezone=event.timezone)
            facts = known.get(case_id)
            if facts is None:
                continue
            touched[case_id] = tenant
            if kind == "ContactRecorded":
                entry = facts.entry
                key = (tenant, event.timestamp.date(), entry.segment if entry else NONE,
                       entry.arm if entry else NONE)
                counts = contacts.setdefault(key, [0, 0, 0, 0])
                if str(event.direction) != "outbound":
                    counts[3] += 1  # inbound: counted, but no step of the plan is done
                    continue
                _done(facts, CHANNEL_ACTION[str(event.channel)], event.timestamp)
                outcome = str(event.outcome)
                counts[0] += 1
                counts[1] += outcome in CONNECTED
                counts[2] += outcome == "right_party"
            elif kind == "MessageQueued":
                _done(facts, Action(str(event.channel)), event.timestamp)
            elif kind == "Escalated":
                _done(facts, Action.ESCALATE, event.timestamp)
            elif kind == "NoteAdded":
                _done(facts, Action.REVIEW, event.timestamp)
            elif kind == "Assigned":
                if facts.assigned_since is None or event.timestamp >= facts.assigned_since:
                    facts.assigned_to = event.agent_id or event.agency
                    facts.assigned_since = event.timestamp
            elif kind == "CommunicationCeased":
                facts.ceased_all = facts.ceased_all or event.all_channels
                facts.phone_ceased = facts.phone_ceased or "phone" in event.channels
            elif kind == "DisputeOpened":
                facts.open_disputes += 1
            elif kind == "DisputeResolved":
                facts.open_disputes = max(0, facts.open_disputes - 1)
            elif kind == "Closed":
                facts.closed = True
            elif kind == "Reopened":
                facts.closed = False
            elif kind == "ScoreRecorded":
                await conn.execute(MODEL_SQL, tenant, event.model)
            elif kind == "SegmentEntered":
                facts.entry = Entry(event.strategy_id, event.version, event.arm, event.segment,
                                    event.timestamp)
                entries.append((tenant, case_id, event.timestamp, event.originator_version,
                                event.arm, event.segment))
            elif kind == "SegmentLeft":  # from then on in no segment: grouped under "none"
                facts.entry = None
                entries.append((tenant, case_id, event.timestamp, event.originator_version,
                                NONE, NONE))
        if entries:
            await conn.execute(ENTRY_SQL, *[list(c) for c in zip(*entries, strict=True)])
        entered = {entry[1] for entry in entries}
        if self.bulk:
            for case_id, tenant in touched.items():  # most recently used last
                known[case_id] = known.pop(case_id)
                self._tenants[case_id] = tenant
            self._dirty.update(touched)
            self._entered.update(entered)
            if len(contacts) > MAX_PENDING_CONTACT_KEYS:
                await self._add_contacts(conn, contacts)
                self._contacts = {}
            await self._evict(conn)
            return
        await self._add_contacts(conn, contacts)
        await self._upsert_segments(conn, known, {i: t for i, t in touched.items()
                                                  if i in entered})
        await self._write(conn, known, touched)

    async def _add_contacts(self, conn: asyncpg.Connection,
                            contacts: dict[tuple[str, Any, str, str], list[int]]) -> None:
        if contacts:
            rows = [(*k, *v) for k, v in contacts.items()]
            await conn.execute(CONTACTS_SQL, *[list(c) for c in zip(*rows, strict=True)])

    async def _upsert_segments(self, conn: asyncpg.Connection, known: dict[UUID, PlanFacts],
                               cases: dict[UUID, str]) -> None:
        """The current segment of ``cases`` (whose entry changed): upserted, or removed for
        a case that left its strategy."""
        current, left = [], []
        for case_id, tenant in cases.items():
            if (e := known[case_id].entry) is not None:
                current.append((tenant, case_id, e.strategy_id, e.version, e.arm, e.segment,
                                e.entered_at))
            else:
                left.append((tenant, case_id))
        if current:
            await conn.execute(UPSERT_SEGMENT_SQL, *[list(c) for c in zip(*current, strict=True)])
        if left:
            await conn.execute(DELETE_SEGMENT_SQL, *[list(c) for c in zip(*left, strict=True)])

    async def _evict(self, conn: asyncpg.Connection) -> None:
        excess = len(self._facts) - self.capacity
        if excess > 0:  # in chunks: fewer, larger writes
            leaving = list(self._facts)[:excess + self.capacity // 10]
            await self._write_cached(conn, [i for i in leaving if i in self._dirty])
            for case_id in leaving:
                del self._facts[case_id]
                self._tenants.pop(case_id, None)

    async def _write_cached(self, conn: asyncpg.Connection, case_ids: list[UUID]) -> None:
        """Write cached cases (facts, current segment, dialer and automatic steps)."""
        if not case_ids:
            return
        touched = {i: self._tenants[i] for i in case_ids}
        await self._upsert_segments(conn, self._facts, {i: t for i, t in touched.items()
                                                        if i in self._entered})
        await self._write(conn, self._facts, touched)
        self._dirty.difference_update(case_ids)
        self._entered.difference_update(case_ids)

    async def _write(self, conn: asyncpg.Connection, known: dict[UUID, PlanFacts],
                     touched: dict[UUID, str]) -> None:
        ids = list(touched)
        tenants = [touched[i] for i in ids]
        await conn.execute(UPSERT_FACTS_SQL, tenants, ids, [ENCODER.encode(known[i]) for i in ids])
        await conn.execute(DELETE_DIALER_SQL, tenants, ids)
        await conn.execute(DELETE_AUTO_SQL, tenants, ids)
        rows, autos = [], []
        for case_id, tenant in touched.items():
            facts = known[case_id]
            entry = facts.entry
            if entry is None or facts.closed or facts.ceased_all or facts.open_disputes:
                continue
            document = await self._document(conn, tenant, entry.strategy_id, entry.version)
            if document is None:
                continue
            dialer, steps = window_rows(tenant, case_id, facts, document)
            if not facts.phone_ceased:
                rows += dialer
            autos += steps
        if rows:
            await conn.copy_records_to_table("rm_dialer", records=rows, columns=DIALER_COLUMNS)
        if autos:
            await conn.copy_records_to_table("rm_auto_steps", records=autos, columns=AUTO_COLUMNS)
