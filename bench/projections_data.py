"""Synthetic event logs for the projection benchmarks, written through the domain.

Each case gets 10 events (placement, assignment, four contacts, a promise, the payment that
keeps it, a note). Cases are written in windows of ``window`` cases, round-robin inside a
window (event 1 of every case, then event 2, …), so a batch of the feed touches many cases
as a busy collections floor would. Rows go in with COPY; chain hashes are placeholders
(projections do not read them), and placements are sealed (the store refuses them otherwise)
under a throwaway key per case, as an erased case's would be: projections never open them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import asyncpg

from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventCodec
from ledger.privacy.sealing import PLACED_TOPIC, DebtorCipher

EVENTS_PER_CASE = 10
NOW = datetime(2026, 9, 1, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)
COLUMNS = ["originator_id", "originator_version", "topic", "state", "recorded_at", "tenant_id",
           "actor", "chain_hash"]
OUTCOMES = ("no_answer", "voicemail", "busy", "right_party")


def case_events(tenant: str, index: int) -> list[object]:
    """The 10 domain events of case ``index``."""
    placed_at = START + timedelta(hours=(index * 7) % (540 * 24))
    case = Case.place(
        case_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{index}"), tenant_id=tenant,
        external_ref=f"CC-{index:08d}", portfolio=f"cards-{index % 5}", product="credit_card",
        currency="USD", principal=50_000 + index % 997 * 100, interest=5_000, fees=1_000,
        past_due_amount=10_000, days_past_due=30 + index % 150, placed_at=placed_at,
        debtor=Debtor(name="Synthetic", timezone="America/Chicago", jurisdiction="US-TX"),
        now=NOW)
    agent = f"agent-{index % 40}"
    case.assign(assigned_at=placed_at + timedelta(hours=1), agent_id=agent)
    for attempt, outcome in enumerate(OUTCOMES):
        case.record_contact(channel="phone" if attempt % 2 == 0 else "sms", direction="outbound",
                            outcome=outcome, agent_id=agent, now=NOW,
                            occurred_at=placed_at + timedelta(days=1 + 2 * attempt, hours=16))
    made_at = placed_at + timedelta(days=8, hours=16)
    due = (made_at + timedelta(days=10)).date()
    case.make_promise(amount=5_000, due_date=due, made_at=made_at, agent_id=agent, now=NOW)
    case.receive_payment(external_id="P1", amount=5_000 + index % 13 * 10, currency="USD",
                         received_at=made_at + timedelta(days=3), method="ach", now=NOW)
    case.add_note(text="called back", occurred_at=made_at + timedelta(days=3, hours=1))
    return list(case.collect_events())


def rows(tenant: str, cases: int, window: int = 2000) -> Iterator[tuple[object, ...]]:
    """Encoded rows of ``cases`` cases in feed order (round-robin inside each window)."""
    codec = EventCodec()
    cipher = DebtorCipher(None)  # type: ignore[arg-type]  # sealing needs no key store
    recorded_at = datetime.now(UTC)
    placeholder = bytes(32)
    for first in range(0, cases, window):
        streams = [case_events(tenant, i) for i in range(first, min(first + window, cases))]
        for step in range(max(len(s) for s in streams)):
            for stream in streams:
                if step < len(stream):
                    new = codec.encode(stream[step])
                    state = new.state
                    if new.topic == PLACED_TOPIC:
                        state = cipher.seal(new.originator_id, tenant, new.topic, state, None)
                    yield (new.originator_id, new.originator_version, new.topic, state,
                           recorded_at, tenant, "bench", placeholder)


async def write(pool: asyncpg.Pool, tenant: str, cases: int, chunk: int = 20_000) -> int:
    """COPY the synthetic log into ``stored_events`` (one transaction per chunk)."""
    written, buffer = 0, []
    for row in rows(tenant, cases):
        buffer.append(row)
        if len(buffer) >= chunk:
            await pool.copy_records_to_table("stored_events", records=buffer, columns=COLUMNS)
            written, buffer = written + len(buffer), []
    if buffer:
        await pool.copy_records_to_table("stored_events", records=buffer, columns=COLUMNS)
        written += len(buffer)
    return written


def first_of_month(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)
