"""The reference portfolio's metrics, worked out by hand below, must come out to the cent;
and a rebuild from zero must reproduce every rm_ table the incremental run built."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import pytest

from ledger.eventstore import EventStore
from ledger.projections import all_projections, contacts, lags
from ledger.projections import metric_queries as mq
from ledger.projections.deadlines import tick
from ledger.projections.rebuild import rebuild
from ledger.services.repositories import case_repository, case_service

from projection_support import MASTER_KEY, NOW, Writer, project_all
from reference_portfolio import write_late_facts, write_until_scheduler

TENANT = "t-reference"
RM_TABLES = ("rm_cases", "rm_payments", "rm_promises", "rm_contact_stats", "rm_breaches",
             "rm_audit")
A, B = 110_000, 55_000  # placed amount of each case of cards-a / cards-b


@pytest.fixture(scope="module")
async def reference(own_pool: asyncpg.Pool) -> asyncpg.Pool:
    writer = Writer(own_pool, TENANT)
    cases = await write_until_scheduler(writer)
    await project_all(own_pool, all_projections())
    service = case_service(EventStore(own_pool), MASTER_KEY, clock=lambda: NOW)
    assert await tick(own_pool, service, NOW) == 2  # a9 and a10 broken
    assert await tick(own_pool, service, NOW) == 0  # nothing left to break (idempotent)
    await write_late_facts(writer, cases)
    await project_all(own_pool, all_projections())
    return own_pool


def _by_group(rows: list[asyncpg.Record]) -> dict[str, tuple[int, ...]]:
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


async def test_recovery_by_portfolio_and_cohort_counts_payments_net_of_reversals(reference):
    # cards-a: a0–a7 10,000 each, a1 reversed, a0 +5,000, a10 +15,000 = 90,000; 8 paying.
    # cards-b: b0–b3 5,000 each, b6 20,000 = 40,000; 5 paying.
    expected = {"cards-a": (12 * A, 90_000, 12, 8), "cards-b": (12 * B, 40_000, 12, 5)}
    assert _by_group(await mq.recovery(reference, TENANT, "portfolio", None, None)) == expected
    by_cohort = _by_group(await mq.recovery(reference, TENANT, "cohort", None, None))
    assert by_cohort == {"2026-01": expected["cards-a"], "2026-02": expected["cards-b"]}
    only_february = await mq.recovery(reference, TENANT, "portfolio",
                                      datetime(2026, 2, 1, tzinfo=UTC), None)
    assert _by_group(only_february) == {"cards-b": expected["cards-b"]}


async def test_recovery_by_channel_follows_the_last_right_party_contact_within_30_days(reference):
    # phone: a0 P1, a2, a4, a6 (10,000), a10 (15,000), b0, b2 (5,000) — 7 cases.
    # sms: b6, whose backdated sms contact (Feb 27) is later than its phone call (Feb 20).
    # none: a0 P2 (Mar 5, 49 days after its call), a3, a5, a7, b1, b3, a1 (reversed: 0),
    #       and the 10 cases without payments (a8, a9, a11, b4, b5, b7–b11).
    assert _by_group(await mq.recovery(reference, TENANT, "channel", None, None)) == {
        "phone": (5 * A + 2 * B, 65_000, 7, 7),
        "sms": (B, 20_000, 1, 1),
        "none": (8 * A + 9 * B, 45_000, 17, 6),
    }


async def test_recovery_by_agent_uses_the_assignee_at_each_payment_time(reference):
    # ann: a0–a5 = 15,000 + 0 + 4 × 10,000. bob: a6, a7, a10, b0–b3 paid; a8, a9, a11, b4,
    # b5 assigned without payments. cy: b6 via the backdated assignment. unassigned: b7–b11.
    assert _by_group(await mq.recovery(reference, TENANT, "agent", None, None)) == {
        "ann": (6 * A, 55_000, 6, 5),
        "bob": (6 * A + 6 * B, 55_000, 12, 7),
        "cy": (B, 20_000, 1, 1),
        "unassigned": (5 * B, 0, 5, 0),
    }


async def test_liquidation_curve_is_cumulative_by_month_since_placement(reference):
    placed, cases, per_month = await mq.liquidation(
        reference, TENANT, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), 9)
    assert (placed, cases) == (12 * A, 12)
    assert per_month == [70_000, 15_000, 5_000, 0, 0, 0, 0, 0, 0]
    assert [mq.rate(sum(per_month[:m + 1]), placed) for m in range(3)] == [0.053, 0.0644, 0.0682]


async def test_promise_outcomes_include_the_late_payment_that_turned_a_broken_promise_kept(reference):
    assert _by_group(await mq.promises(reference, TENANT, "agent", None, None)) == {
        "ann": (1, 1, 0, 0), "bob": (2, 1, 1, 0), "unassigned": (1, 0, 0, 1)}
    assert _by_group(await mq.promises(reference, TENANT, "portfolio", None, None)) == {
        "cards-a": (3, 2, 1, 0), "cards-b": (1, 0, 0, 1)}
    due_later = await mq.promises(reference, TENANT, "portfolio", date(2026, 2, 1), None)
    assert _by_group(due_later) == {"cards-a": (1, 1, 0, 0), "cards-b": (1, 0, 0, 1)}
    assert mq.rate(2, 3) == 0.6667


async def test_contact_metrics_count_outbound_attempts_contacts_and_right_party(reference):
    # Every case one phone attempt (+ a11's night call); even cases reached the right party.
    assert _by_group(await mq.contacts(reference, TENANT, "channel", None, None)) == {
        "phone": (25, 12, 12, 0), "email": (12, 0, 0, 0), "sms": (1, 1, 1, 0)}
    assert _by_group(await mq.contacts(reference, TENANT, "agent", None, None)) == {
        "ann": (9, 3, 3, 0), "bob": (19, 6, 6, 0), "unassigned": (9, 3, 3, 0),
        "cy": (1, 1, 1, 0)}
    january = await mq.contacts(reference, TENANT, "channel", date(2026, 1, 1), date(2026, 2, 1))
    assert _by_group(january) == {"phone": (13, 6, 6, 0), "email": (6, 0, 0, 0)}


async def test_roll_rates_follow_cases_between_buckets_and_count_cures(reference):
    february = await mq.roll_rates(reference, TENANT, datetime(2026, 2, 1, tzinfo=UTC),
                                   datetime(2026, 3, 1, tzinfo=UTC))
    # End of January: cards-a at 45 + 21 = 66 days; end of February 94 days. cards-b not placed.
    assert february["61-90"] == [12, 12, 0]
    assert sum(figures[0] for figures in february.values()) == 12
    march = await mq.roll_rates(reference, TENANT, datetime(2026, 3, 1, tzinfo=UTC),
                                datetime(2026, 4, 1, tzinfo=UTC))
    # End of February: everything in 91-120; by end of March b6 is cured (20,000 ≥ 10,000).
    assert march["91-120"] == [24, 23, 1]


async def test_breaches_and_audit_rows_are_recorded_per_event(reference):
    breaches = await reference.fetch(
        "SELECT rule, agent FROM rm_breaches WHERE tenant_id = $1", TENANT)
    assert [tuple(b) for b in breaches] == [("outside_hours", "bob")]
    events = await reference.fetchval("SELECT count(*) FROM stored_events WHERE tenant_id = $1",
                                      TENANT)
    audit = await reference.fetch(
        "SELECT type, count(*), sum(amount) FROM rm_audit WHERE tenant_id = $1 GROUP BY type",
        TENANT)
    by_type = {r[0]: (r[1], r[2]) for r in audit}
    assert sum(count for count, _ in by_type.values()) == events
    assert by_type["PaymentReceived"] == (15, 8 * 10_000 + 5_000 + 4 * 5_000 + 20_000 + 15_000)
    assert by_type["PromiseBroken"][0] == 2 and by_type["PromiseKept"][0] == 2
    actors = await reference.fetch(
        "SELECT DISTINCT actor FROM rm_audit WHERE tenant_id = $1 AND type = 'PromiseBroken'",
        TENANT)
    assert [a[0] for a in actors] == ["system:scheduler"]


async def test_case_rows_match_the_aggregate_balances(reference):
    store = EventStore(reference)
    rows = await reference.fetch(
        "SELECT case_id, balance, paid_total, base_status, version, principal, interest, fees "
        "FROM rm_cases WHERE tenant_id = $1", TENANT)
    loaded = await case_repository(store, MASTER_KEY).load_many([r["case_id"] for r in rows])
    for row in rows:
        case = loaded[row["case_id"]]
        assert (row["balance"], row["paid_total"], row["version"]) == (
            case.balance, case.payments_total - case.reversals_total, case.version)
        assert (row["principal"], row["interest"], row["fees"]) == (
            case.principal, case.interest, case.fees), case.external_ref
        assert row["base_status"] == str(case.status(NOW)), case.external_ref


async def _snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple]]:
    return {table: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
            for table in RM_TABLES}


async def test_a_rebuild_from_zero_reproduces_every_table_exactly(reference):
    before = await _snapshot(reference)
    position = await rebuild(reference, all_projections(), batch_size=37)
    assert await _snapshot(reference) == before
    assert all(lag.positions_behind == 0 and lag.events_applied == position.events_applied
               for lag in await lags(reference, [p.name for p in all_projections()]))
    leftovers = await reference.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%' OR nspname LIKE 'retired_%'")
    assert leftovers == 0


async def test_a_rebuild_adding_its_contact_sums_in_many_parts_reproduces_them(reference,
                                                                             monkeypatch):
    monkeypatch.setattr(contacts, "MAX_PENDING_KEYS", 1)  # staged and added at every batch
    before = await _snapshot(reference)
    await rebuild(reference, [contacts.ContactsProjection()], batch_size=5)
    assert await _snapshot(reference) == before
