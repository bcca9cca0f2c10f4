"""Rollups, the DPD anchor and the CaseFacts cache against from-scratch recomputations.

Random case histories (seeded) with backdated assignments and contacts, payments,
reversals, promises, closes and reopens are projected in random batch sizes; after every
round the rollup tables must equal a recomputation from the detail rows, and the metrics
read from them must equal the per-case statements they replaced.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.delinquency import bucket_for
from ledger.domain.errors import DomainError
from ledger.eventstore import EventCodec, EventStore
from ledger.projections import ProjectionRunner, all_projections, positions, rollups
from ledger.projections import metric_queries as mq
from ledger.projections import queries
from ledger.projections.cases import CasesProjection
from ledger.projections.framework import decode_rows
from ledger.projections.rebuild import rebuild
from ledger.projections.registry import by_name

from projection_support import NOW, Writer, at, place, project_all

ZONES = ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Chicago", "Asia/Tokyo")
AGENTS = ("ann", "bob", "cy", None)


def _random_step(rng: random.Random, case: Case, paid: list[str]) -> None:
    """One random command; backdated times on purpose. Domain refusals are skipped."""
    when = case.placed_at + timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
    when = min(when, NOW - timedelta(hours=1))
    kind = rng.choice(["assign", "contact", "contact", "pay", "pay", "reverse", "promise",
                       "close", "charge", "waive"])
    try:
        if kind == "assign":
            case.assign(assigned_at=when, agent_id=rng.choice(AGENTS) or "dee")
        elif kind == "contact":
            case.record_contact(channel=rng.choice(["phone", "sms", "email"]),
                                direction="outbound",
                                outcome=rng.choice(["right_party", "no_answer", "right_party"]),
                                occurred_at=when, agent_id=rng.choice(AGENTS), now=NOW)
        elif kind == "pay":
            external_id = f"P{len(paid)}"
            case.receive_payment(external_id=external_id, amount=rng.randint(1, 30) * 500,
                                 currency="USD", received_at=when, method="ach", now=NOW)
            paid.append(external_id)
        elif kind == "reverse" and paid:
            case.reverse_payment(external_id=rng.choice(paid), reason="returned",
                                 reversed_at=NOW - timedelta(minutes=5), now=NOW)
        elif kind in ("charge", "waive"):
            case.adjust_balance(kind=rng.choice(["interest", "fee"]) if kind == "charge"
                                else "waiver", amount=rng.randint(1, 20) * 250,
                                reason="random", occurred_at=when, now=NOW)
        elif kind == "promise":
            case.make_promise(amount=rng.randint(1, 10) * 500,
                              due_date=date(2026, 9, 1) + timedelta(days=rng.randint(1, 60)),
                              made_at=NOW - timedelta(hours=2), agent_id=rng.choice(AGENTS),
                              now=NOW)
        elif kind == "close":
            if case.is_closed:
                case.reopen(reason="new information", reopened_at=NOW - timedelta(minutes=1),
                            now=NOW)
            else:
                case.close(reason="recalled", closed_at=when, now=NOW)
    except DomainError:
        pass


async def _check(pool: asyncpg.Pool, tenant: str) -> None:
    assert await rollups.stored(pool) == await rollups.recomputed(pool)
    ageing = await pool.fetch(
        "SELECT tenant_id, case_id, placed_at, dpd_anchor, placed_dpd, timezone, cured_at, "
        "closed_at FROM rm_cases WHERE dpd_anchor IS NOT NULL ORDER BY 1, 2")
    assert [tuple(r) for r in ageing] == [tuple(r) for r in await pool.fetch(
        "SELECT * FROM rm_case_ageing ORDER BY 1, 2")]
    for group_by in ("portfolio", "cohort", "agent", "channel"):
        sql = (mq.RECOVERY_BY_CASE_SQL if group_by in ("portfolio", "cohort")
               else mq.RECOVERY_BY_PAYMENT_SQL)
        for start, end in ((None, None), (at("2026-02-01"), at("2026-03-01"))):
            per_case = [tuple(int(v) if not isinstance(v, str) else v for v in r)
                        for r in await pool.fetch(sql, tenant, start, end, group_by)]
            rolled = [tuple(r) for r in await mq.recovery(pool, tenant, group_by, start, end)]
            assert rolled == per_case, (group_by, start)


async def _check_components(pool: asyncpg.Pool, tenant: str, cases: list[Case]) -> None:
    """The read model's balance components are the aggregate's (allocated in business time)."""
    rows = {r[0]: tuple(r[1:]) for r in await pool.fetch(
        "SELECT case_id, principal, interest, fees, balance FROM rm_cases WHERE tenant_id = $1",
        tenant)}
    for case in cases:
        assert rows[case.id] == (case.principal, case.interest, case.fees, case.balance), (
            case.external_ref)


async def _project(pool: asyncpg.Pool, rng: random.Random) -> None:
    runner = ProjectionRunner(pool, EventStore(pool), all_projections(),
                              batch_size=rng.choice([3, 7, 50]))
    await runner.start()
    await runner.wait_until_caught_up()
    await runner.stop()


async def test_rollups_equal_a_recomputation_after_random_backdated_histories(own_pool, tenant):
    rng = random.Random(5)
    writer = Writer(own_pool, tenant)
    cases = [place(tenant, f"C{i}", portfolio=f"p{i % 3}", timezone=rng.choice(ZONES),
                   placed_at=f"2026-0{1 + i % 3}-{10 + i % 15}T{(7 * i) % 24:02d}:00",
                   days_past_due=rng.choice([0, 20, 95]), past_due_amount=rng.choice([0, 9_000]))
             for i in range(24)]
    await writer.save(*cases)
    paid: dict[str, list[str]] = {c.external_ref: [] for c in cases}
    for _ in range(4):
        for case in rng.sample(cases, 12):
            for _ in range(rng.randint(1, 4)):
                _random_step(rng, case, paid[case.external_ref])
            await writer.save(case)
        await _project(own_pool, rng)
        await _check(own_pool, tenant)
        await _check_components(own_pool, tenant, cases)
    before = await rollups.stored(own_pool)
    tables = await _case_tables(own_pool)
    await rebuild(own_pool, [by_name("cases")], batch_size=11)
    assert await rollups.stored(own_pool) == before
    assert await _case_tables(own_pool) == tables
    await _check(own_pool, tenant)
    # A cache smaller than a batch: cases leave it (written) and come back (read) mid-load.
    await rebuild(own_pool, [CasesProjection(cache_cases=3)], batch_size=11)
    assert await rollups.stored(own_pool) == before
    assert await _case_tables(own_pool) == tables
    await _check(own_pool, tenant)
    await _check_components(own_pool, tenant, cases)


async def _case_tables(pool: asyncpg.Pool) -> dict[str, list[tuple]]:
    """Every table of the cases projection, rows sorted (rollup rows of zeros left out)."""
    found = {}
    for table in CasesProjection.tables:
        rows = [tuple(r) for r in await pool.fetch(f"SELECT * FROM {table}")]
        if table.endswith("_rollup"):
            rows = [r for r in rows if any(v for v in r[4:])]
        found[table] = sorted(rows, key=repr)
    return found


async def test_a_bucket_filtered_case_list_returns_exactly_the_cases_in_that_bucket(own_pool,
                                                                                   tenant):
    writer = Writer(own_pool, tenant)
    cases = [place(tenant, f"D{i}", timezone=ZONES[i % len(ZONES)], days_past_due=5 + 13 * i,
                   placed_at=f"2026-03-01T{(5 * i) % 24:02d}:30", past_due_amount=1_000)
             for i in range(18)]
    await writer.save(*cases)
    await _project(own_pool, random.Random(1))
    for now in (at("2026-04-02T23:30"), at("2026-06-15T00:30"), at("2026-08-31T11:00")):
        everything = await queries.list_cases(
            own_pool, tenant, now, status=None, portfolio=None, assigned_to=None,
            dpd_bucket=None, external_ref=None, after=None, limit=500)
        for label in mq.BUCKET_LABELS:
            expected = [r["case_id"] for r in everything if bucket_for(r["dpd"]) == label]
            found = await queries.list_cases(
                own_pool, tenant, now, status=None, portfolio=None, assigned_to=None,
                dpd_bucket=label, external_ref=None, after=None, limit=500)
            assert [r["case_id"] for r in found] == expected, (now, label)


async def test_the_facts_cache_is_dropped_when_another_owner_moved_the_projection(own_pool,
                                                                                  tenant):
    writer = Writer(own_pool, tenant)
    case = place(tenant, "E")
    await writer.save(case)
    store = EventStore(own_pool)
    first = ProjectionRunner(own_pool, store, all_projections(), takeover_interval=0.1)
    second = ProjectionRunner(own_pool, store, all_projections(), takeover_interval=0.1)
    await first.start()
    await first.wait_until_caught_up()
    cached: CasesProjection = first.projections["cases"]  # type: ignore[assignment]
    assert case.id in cached._cache
    await first.stop()  # ownership lost: the second runner applies the next payment
    await second.start()
    await writer.change(case, lambda c: c.receive_payment(
        external_id="P1", amount=1_000, currency="USD", received_at=at("2026-02-01"),
        method="ach", now=NOW))
    await second.wait_until_caught_up()
    await second.stop()
    await first.start()  # owns again: its cached facts predate P1 and must not be used
    await writer.change(case, lambda c: c.receive_payment(
        external_id="P2", amount=2_000, currency="USD", received_at=at("2026-02-02"),
        method="ach", now=NOW))
    await first.wait_until_caught_up()
    await first.stop()
    row = await own_pool.fetchrow("SELECT paid_total, version FROM rm_cases WHERE case_id = $1",
                                  case.id)
    assert (row["paid_total"], row["version"]) == (3_000, case.version)
    assert await rollups.stored(own_pool) == await rollups.recomputed(own_pool)


async def test_a_batch_rolled_back_after_folding_is_applied_again_from_the_tables(own_pool,
                                                                                  tenant):
    writer = Writer(own_pool, tenant)
    case = place(tenant, "F")
    await writer.save(case)
    projection = CasesProjection()
    await project_all(own_pool, [projection])
    await writer.change(case, lambda c: c.receive_payment(
        external_id="P1", amount=4_000, currency="USD", received_at=at("2026-02-01"),
        method="ach", now=NOW))
    position = await positions.load(own_pool, "cases")
    rows = await EventStore(own_pool).read_all(position.cursor, 100)
    batch = decode_rows(EventCodec(), rows, position.events_applied)
    with pytest.raises(RuntimeError):
        async with own_pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, batch)  # folds P1 into the cached facts …
            raise RuntimeError("the batch transaction failed")  # … which never commit
    await project_all(own_pool, [projection])  # the same batch again, same instance
    assert await own_pool.fetchval("SELECT paid_total FROM rm_cases WHERE case_id = $1",
                                   case.id) == 4_000
    assert await rollups.stored(own_pool) == await rollups.recomputed(own_pool)


def test_day_boundaries_used_by_the_rollups_are_utc() -> None:
    assert mq._utc_day(datetime(2026, 2, 1, tzinfo=UTC)) == date(2026, 2, 1)
    assert mq._utc_day(datetime(2026, 2, 1, 5, tzinfo=UTC)) is False
    assert mq._utc_day(None) is None


async def test_a_rebuild_of_everything_completes_with_a_pool_of_two_connections(
        make_database, tenant):
    url = await make_database()
    await migrate(url)
    small = await create_pool(url, min_size=1, max_size=2)
    try:
        writer = Writer(small, tenant)
        await writer.save(*(place(tenant, f"G{i}") for i in range(5)))
        await project_all(small, all_projections())
        before = await rollups.stored(small)
        cases_before = await small.fetch("SELECT * FROM rm_cases ORDER BY case_id")
        position = await rebuild(small, all_projections(), batch_size=2)
        assert position.events_applied == 5
        assert await rollups.stored(small) == before
        assert await small.fetch("SELECT * FROM rm_cases ORDER BY case_id") == cases_before
    finally:
        await small.close()
