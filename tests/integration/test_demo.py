"""``ledger demo``: a deterministic portfolio, stored through the domain, that passes verify."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.audit.verify import verify_all
from ledger.demo import load_demo, plan_case
from ledger.eventstore import EventStore
from ledger.services.cases import case_id_for
import os
from ledger.services.repositories import case_repository

MASTER_KEY = os.urandom(32)  # the case repository always seals personal data

END = datetime(2026, 6, 30, tzinfo=UTC)
CASES = 120


async def _fingerprint(pool, tenant: str) -> list[tuple]:
    """Per case (by external ref): its event types in order and its money figures.

    Segment entries are left out: a case's strategy arm hashes its case and strategy ids, which
    derive from the tenant, so two tenants' demos split their arms differently by design."""
    repository = case_repository(EventStore(pool), MASTER_KEY)
    rows = await pool.fetch(
        "SELECT originator_id, originator_version, topic FROM stored_events "
        "WHERE tenant_id = $1 ORDER BY originator_id, originator_version", tenant)
    by_case: dict = {}
    for row in rows:
        if row["topic"].endswith("SegmentEntered"):
            continue
        by_case.setdefault(row["originator_id"], []).append(row["topic"].rsplit(".", 1)[-1])
    found = []
    for index in range(1, CASES + 1):
        ref = plan_case(0, index, END).external_ref
        case = await repository.load(case_id_for(tenant, ref), tenant_id=tenant)
        found.append((ref, tuple(by_case[case.id]), case.balance, case.placed_balance,
                      sorted(p.amount for p in case.payments.values())))
    return found


async def test_the_demo_is_deterministic_for_a_seed_and_differs_for_another(pool, tenant):
    repository = case_repository(EventStore(pool), MASTER_KEY)
    seen = []
    for suffix, seed in (("a", 7), ("b", 7), ("c", 8)):
        summary = await load_demo(repository, tenant_id=f"{tenant}-{suffix}", cases=CASES,
                                  seed=seed, end=END)
        assert summary.cases == CASES and summary.events > CASES * 5
        seen.append(await _fingerprint(pool, f"{tenant}-{suffix}"))
    assert seen[0] == seen[1]
    assert seen[0] != seen[2]


async def test_the_demo_has_the_variety_a_newcomer_should_see_and_passes_verify(pool, tenant):
    progress: list[tuple[int, int]] = []
    summary = await load_demo(case_repository(EventStore(pool), MASTER_KEY), tenant_id=tenant, cases=CASES,
                              seed=42, end=END, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (CASES, CASES)
    types = {row["t"]: row["n"] for row in await pool.fetch(
        "SELECT split_part(topic, ':Case.', 2) AS t, count(*) AS n FROM stored_events "
        "WHERE tenant_id = $1 GROUP BY 1", tenant)}
    for kind in ("Placed", "Assigned", "ContactRecorded", "PromiseMade", "PromiseKept",
                 "PromiseBroken", "PaymentReceived", "PaymentReversed", "ArrangementAgreed",
                 "DisputeOpened", "Closed"):
        assert types.get(kind, 0) > 0, f"no {kind} in {types}"
    actors = {row["actor"] for row in await pool.fetch(
        "SELECT DISTINCT actor FROM stored_events WHERE tenant_id = $1", tenant)}
    assert {"demo:bank-feed", "demo:supervisor", "system:scheduler"} <= actors
    assert any(actor.startswith("demo:agent-") for actor in actors)
    # Everything is in the past of the portfolio's end, and the hash chains verify.
    assert await pool.fetchval("SELECT count(*) FROM stored_events WHERE tenant_id = $1",
                               tenant) == summary.events
    verified = await verify_all(pool.fetch, tenant_id=tenant)
    # every case's stream, and the demo strategy's
    assert verified.bad == [] and verified.events == summary.events and verified.streams == CASES + 1
    # A second run adds nothing (the demo is loaded once per tenant).
    again = await load_demo(case_repository(EventStore(pool), MASTER_KEY), tenant_id=tenant, cases=CASES, seed=42,
                            end=END)
    assert again.already_present
