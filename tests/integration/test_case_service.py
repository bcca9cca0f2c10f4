"""The case service's in-process cache never serves a stale or uncommitted fact.

Two services on one database stand for two API processes, each with its own cache.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from ledger.api.placement import new_case
from ledger.api.schemas import times
from ledger.api.schemas.cases import PlaceCase
from ledger.domain.case import Case
from ledger.domain.errors import UnknownPayment
from ledger.eventstore import EventStore
from ledger.services.cases import CaseService, Context
import os
from ledger.services.repositories import case_service

MASTER_KEY = os.urandom(32)  # the case repository always seals personal data

NOW = datetime.now(UTC)


def _render(case: Case, _: object) -> tuple[int, bytes]:
    return 201, str(case.version).encode()


def _pay(external_id: str, amount: int = 1_000):
    def command(case: Case, now: datetime):  # type: ignore[no-untyped-def]
        return case.receive_payment(external_id=external_id, amount=amount, currency="USD",
                                    received_at=now - timedelta(minutes=1), method="ach")
    return command


@pytest.fixture
def services(pool):  # type: ignore[no-untyped-def]
    return case_service(EventStore(pool), MASTER_KEY), case_service(EventStore(pool), MASTER_KEY)


async def _placed(service: CaseService, tenant: str) -> tuple[Context, uuid.UUID]:
    body = msgspec.convert({
        "external_ref": f"C-{uuid.uuid4().hex[:8]}", "portfolio": "p", "product": "credit_card",
        "currency": "USD", "principal": 100_000, "interest": 0, "fees": 0,
        "past_due_amount": 10_000, "days_past_due": 40, "placed_at": "2026-09-01T00:00:00Z",
        "debtor": {"name": "Test Debtor", "timezone": "America/Chicago", "jurisdiction": "US-TX"},
    }, PlaceCase, dec_hook=times.dec_hook)
    case = new_case(tenant, body, NOW)
    ctx = Context(tenant, "test", uuid.uuid4())
    await service.place(ctx, case, _render, lambda existing, new: (200, b""))
    return ctx, case.id


async def test_a_read_sees_a_write_made_by_another_process_after_it_was_cached(services, tenant):
    first, second = services
    ctx, case_id = await _placed(first, tenant)
    assert (await first.load(tenant, case_id)).view(NOW).paid_total == 0  # now cached in `first`
    await second.execute(ctx, case_id, _pay("P-1"), _render)
    assert (await first.load(tenant, case_id)).view(NOW).paid_total == 1_000


async def test_a_command_on_a_stale_cached_case_retries_on_the_current_one(services, tenant):
    first, second = services
    ctx, case_id = await _placed(first, tenant)
    await first.load(tenant, case_id)
    await second.execute(ctx, case_id, _pay("P-1"), _render)
    reply = await first.execute(ctx, case_id, _pay("P-2"), _render)
    assert reply.body == b"3"  # placed, P-1, P-2: appended after the other process's payment
    assert (await second.load(tenant, case_id)).view(NOW).paid_total == 2_000


async def test_a_refusal_judged_on_a_stale_cached_case_is_judged_again_on_the_current_one(services, tenant):
    first, second = services
    ctx, case_id = await _placed(first, tenant)
    await first.load(tenant, case_id)
    await second.execute(ctx, case_id, _pay("P-1"), _render)  # `first` has not seen P-1

    def reverse(case: Case, now: datetime) -> None:
        case.reverse_payment(external_id="P-1", reason="bounced", reversed_at=now)

    await first.execute(ctx, case_id, reverse, _render)
    assert (await second.load(tenant, case_id)).view(NOW).paid_total == 0
    with pytest.raises(UnknownPayment):
        await first.execute(ctx, case_id, lambda case, now: case.reverse_payment(
            external_id="P-404", reason="x", reversed_at=now), _render)


async def test_events_that_failed_to_store_never_reach_the_cache(services, tenant):
    first, _ = services
    ctx, case_id = await _placed(first, tenant)

    def pay_then_fail(case: Case, now: datetime) -> None:
        _pay("P-lost")(case, now)
        raise RuntimeError("the request died after the domain accepted the command")

    with pytest.raises(RuntimeError):
        await first.execute(ctx, case_id, pay_then_fail, _render)
    case = await first.load(tenant, case_id)
    assert case.view(NOW).paid_total == 0 and "P-lost" not in case.payments


async def test_a_cached_case_is_not_found_by_another_tenant(services, tenant):
    first, _ = services
    _, case_id = await _placed(first, tenant)
    await first.load(tenant, case_id)
    from ledger.services.cases import CaseNotFound

    with pytest.raises(CaseNotFound):
        await first.load("someone-else", case_id)


async def test_a_case_loaded_from_its_snapshot_takes_new_commands(pool, tenant):
    writer = case_service(EventStore(pool), MASTER_KEY, snapshot_interval=10)
    ctx, case_id = await _placed(writer, tenant)
    for n in range(25):
        await writer.execute(ctx, case_id, _pay(f"P-{n}", 10), _render)
    restarted = case_service(EventStore(pool), MASTER_KEY, snapshot_interval=10)
    reply = await restarted.execute(ctx, case_id, _pay("P-after-restart", 10), _render)
    assert reply.body == b"27"
    assert (await writer.load(tenant, case_id)).view(NOW).paid_total == 260
