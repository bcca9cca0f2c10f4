"""The worker framework on real PostgreSQL: a poison case or event is quarantined, the rest go on."""

from __future__ import annotations

import os
import uuid
from datetime import date

import asyncpg

from ledger.eventstore import EventStore
from ledger.projections.deadlines import WORKER, DeadlineSweeper
from ledger.services.repositories import case_service
from ledger.workers import PoisonGuard, list_quarantine, list_skips, release

from projection_support import MASTER_KEY, NOW, Writer, at, caught_up_runner, place


async def poison(pool: asyncpg.Pool, case_id: uuid.UUID, version: int, tenant: str,
                 topic: str = "ledger.domain.case:Case.PaymentReceived") -> None:
    """Append an event nothing can decode, as a buggy writer or a bad migration might."""
    await pool.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state, tenant_id,"
        " actor, chain_hash) VALUES ($1, $2, $3, $4, $5, 'user:test', $6)",
        case_id, version, topic, b"{\"poison\": true}", tenant, os.urandom(32))


async def _with_due_promises(pool: asyncpg.Pool, tenant: str, refs: list[str]) -> list:
    writer = Writer(pool, tenant)
    cases = []
    for index, ref in enumerate(refs):
        case = place(tenant, ref)
        # The first one falls due first: it heads the scheduler's ORDER BY.
        case.make_promise(amount=5_000, due_date=date(2026, 2, 1 + index),
                          made_at=at("2026-01-20"), now=NOW)
        cases.append(case)
    await writer.save(*cases)
    return cases


async def test_a_case_that_always_fails_is_quarantined_and_no_longer_blocks_the_head(own_pool, tenant):
    cases = await _with_due_promises(own_pool, tenant, [f"D{i}" for i in range(5)])
    await caught_up_runner(own_pool)
    await poison(own_pool, cases[0].id, cases[0].version + 1, tenant)
    service = case_service(EventStore(own_pool), MASTER_KEY, clock=lambda: NOW)
    sweeper = DeadlineSweeper(own_pool, service, page=2,
                              guard=PoisonGuard(own_pool, WORKER, max_attempts=2))
    first = await sweeper.sweep(NOW)
    assert (first.changed, first.failed) == (4, 1)  # the others are marked despite the head
    second = await sweeper.sweep(NOW)
    assert (second.changed, second.failed) == (0, 1)
    held = await list_quarantine(own_pool, WORKER)
    assert [(q.item, q.tenant_id, q.attempts) for q in held] == [(str(cases[0].id), tenant, 2)]
    assert held[0].reason and "poison" not in held[0].reason
    third = await sweeper.sweep(NOW)
    # The read model has not seen the broken promises yet: the others are candidates again,
    # and find nothing left to mark; the held case is not even tried.
    assert (third.failed, third.skipped, third.due, third.changed) == (0, 1, 4, 0)
    for case in cases[1:]:
        reloaded = await service.load(tenant, case.id)
        assert reloaded.version == case.version + 1  # PromiseBroken recorded once
    assert await release(own_pool, WORKER, str(cases[0].id))
    assert (await sweeper.sweep(NOW)).failed == 1  # released: tried again


async def test_a_poison_event_is_quarantined_and_each_projection_applies_the_rest(own_pool, tenant):
    await caught_up_runner(own_pool)
    writer = Writer(own_pool, tenant)
    good, bad = place(tenant, "G"), place(tenant, "B")
    await writer.save(good, bad)
    await poison(own_pool, bad.id, bad.version + 1, tenant)
    # A stream without a placement (its first event unreadable), then a readable event of it:
    # an event of a case the projection does not know.
    ghost = uuid.uuid4()
    await poison(own_pool, ghost, 1, tenant)
    contact = place(tenant, "C")
    contact.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                           occurred_at=at("2026-01-15T15:00"), agent_id="ann", now=NOW)
    await writer.save(contact)
    row = await own_pool.fetchrow("SELECT topic, state FROM stored_events WHERE originator_id = $1"
                                  " AND originator_version = 2", contact.id)
    await own_pool.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state, tenant_id,"
        " chain_hash) VALUES ($1, 2, $2, $3, $4, $5)", ghost, row[0], row[1], tenant,
        os.urandom(32))
    await writer.change(good, lambda c: c.receive_payment(
        external_id="P1", amount=1_234, currency="USD", received_at=at("2026-02-01"),
        method="ach", now=NOW))
    await caught_up_runner(own_pool)  # would time out if a poison event held a projection back
    paid = await own_pool.fetchval("SELECT paid_total FROM rm_cases WHERE case_id = $1", good.id)
    assert paid == 1_234
    held = {(q.worker, q.item) for q in await list_quarantine(own_pool)}
    for name in ("cases", "audit"):
        assert (f"projection:{name}", f"{bad.id}/{bad.version + 1}") in held
        assert (f"projection:{name}", f"{ghost}/1") in held
    skips = {(s.worker, s.reason): s for s in await list_skips(own_pool)}
    assert skips[("projection:cases", "unknown_case")].skipped >= 1
    assert skips[("projection:cases", "unknown_case")].last_item == f"{ghost}/2"
