"""The sender against a real local fake provider (a child process on 127.0.0.1): retries until
a 2xx, records ``MessageSent`` once, stops messages that became forbidden, and erasure leaves
no message content readable anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import pytest

from ledger.api.placement import new_case
from ledger.api.schemas import times
from ledger.api.schemas.cases import PlaceCase
from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.messaging.case_messages import ContactNotAllowed
from ledger.eventstore import EventStore
from ledger.messaging.content import open_content
from ledger.messaging.sender import MessageSender
from ledger.privacy import DataKeys, DebtorCipher
from ledger.privacy.erasure import erase
from ledger.services.cases import CaseService, Context
from ledger.services.messages import MessageService
from ledger.services.repositories import case_service

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtZmFrZS1wcm92aWRlcg=="
SMS = "{{ debtor_name }} owes {{ balance }}. {{ opt_out }}"


def _midday_zone() -> str:
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


class FakeProvider:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.messaging.fake_provider", "--secret", SECRET, *args],
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        assert line.startswith("listening on "), line
        self.url = f"http://127.0.0.1:{int(line.split()[-1])}"

    def report(self) -> dict:
        return json.loads(httpx.get(self.url + "/messages", timeout=5).text)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def provider_failing_twice() -> Iterator[FakeProvider]:
    provider = FakeProvider("--fail-first", "2")
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
async def own_pool(make_database) -> AsyncIterator[asyncpg.Pool]:  # type: ignore[no-untyped-def]
    """A database of this module's own: the sender owns a database-wide lock."""
    url = await make_database()
    await migrate(url)
    pool = await create_pool(url, min_size=2, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
def stack(own_pool):  # type: ignore[no-untyped-def]
    store = EventStore(own_pool)
    data_keys = DataKeys(store.fetch, os.urandom(32))
    cases = case_service(store, data_keys)
    return cases, data_keys, MessageService(cases, data_keys, agency_name="Test Agency")


async def _placed_with_template(stack, tenant: str) -> tuple[Context, uuid.UUID]:  # type: ignore[no-untyped-def]
    cases, _, messages = stack
    body = msgspec.convert({
        "external_ref": f"C-{uuid.uuid4().hex[:8]}", "portfolio": "p", "product": "credit_card",
        "currency": "USD", "principal": 123_456, "interest": 0, "fees": 0,
        "past_due_amount": 10_000, "days_past_due": 40, "placed_at": "2026-09-01T00:00:00Z",
        "debtor": {"name": "Test Debtor", "phones": ["+15550001111"], "timezone": _midday_zone(),
                   "jurisdiction": "US-TX"},
    }, PlaceCase, dec_hook=times.dec_hook)
    case = new_case(tenant, body, datetime.now(UTC))
    ctx = Context(tenant, "test", uuid.uuid4())
    await cases.place(ctx, case, lambda c, _: (201, b""), lambda e, n: (200, b""))
    await messages.save_template(ctx, name="reminder", channel="sms", locale="en_US",
                                 subject=None, body=SMS)
    return ctx, case.id


def _sender(stack, own_pool, url: str | None) -> MessageSender:  # type: ignore[no-untyped-def]
    cases, data_keys, _ = stack
    return MessageSender(own_pool, cases, data_keys, secret=SECRET, sms_url=url, email_url=None,
                         backoff=0.05, poll_interval=0.05)


async def _until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_provider_failing_twice_then_succeeding_gets_the_message_once(
        stack, own_pool, tenant, provider_failing_twice):  # type: ignore[no-untyped-def]
    ctx, case_id = await _placed_with_template(stack, tenant)
    queued = await stack[2].queue_message(ctx, case_id, "reminder")
    assert queued.status == "queued"
    sender = _sender(stack, own_pool, provider_failing_twice.url + "/sms")
    await sender.start()
    try:
        async def sent() -> bool:
            state = await own_pool.fetchval(
                "SELECT state FROM message_outbox WHERE message_id = $1", queued.message_id)
            return state == "sent"
        await _until(sent)
    finally:
        await sender.stop()
    report = provider_failing_twice.report()
    assert report["requests"] == 3
    assert [m["message_id"] for m in report["messages"]] == [str(queued.message_id)]
    assert report["messages"][0]["body"] == "Test Debtor owes $1,234.56. Reply STOP to opt out."
    case = await stack[0].load(tenant, case_id)
    record = case.message(queued.message_id)
    assert (str(record.status), record.attempts) == ("sent", 3)
    rows = await stack[0].repository.store.read_stream(case_id)
    assert [r.topic.rsplit(".", 1)[-1] for r in rows].count("MessageSent") == 1


async def test_a_message_forbidden_after_queueing_is_failed_not_sent(
        stack, own_pool, tenant, provider_failing_twice):  # type: ignore[no-untyped-def]
    ctx, case_id = await _placed_with_template(stack, tenant)
    queued = await stack[2].queue_message(ctx, case_id, "reminder")

    def stop(case: Case, now: datetime) -> None:
        case.opt_out(channel="sms", received_at=now, source="inbound_sms", now=now)

    await stack[0].execute(ctx, case_id, stop, lambda c, _: (200, b""))
    sender = _sender(stack, own_pool, provider_failing_twice.url + "/sms")
    await sender.run_once()
    case = await stack[0].load(tenant, case_id)
    record = case.message(queued.message_id)
    assert str(record.status) == "failed" and "opted_out" in (record.detail or "")
    assert provider_failing_twice.report()["requests"] == 0
    with pytest.raises(ContactNotAllowed) as refused:
        await stack[2].queue_message(ctx, case_id, "reminder")
    assert [r.rule for r in refused.value.reasons] == ["opted_out"]


async def test_erasure_leaves_no_message_content_readable(stack, own_pool, tenant):  # type: ignore[no-untyped-def]
    cases, data_keys, messages = stack
    ctx, case_id = await _placed_with_template(stack, tenant)
    queued = await messages.queue_message(ctx, case_id, "reminder")
    case = await cases.load(tenant, case_id)
    sealed = case.message(queued.message_id).content
    key = (await data_keys.get([case_id]))[case_id]
    assert open_content(key, case_id, tenant, sealed).body.startswith("Test Debtor")  # type: ignore[union-attr]

    await erase(own_pool, data_keys, cases, ctx, case_id, "debtor asked",
                lambda c, r: (201, b""))
    # Nothing stored anywhere holds the name, the number or the body in clear ...
    for table, column in (("stored_events", "encode(state, 'escape')"),
                          ("snapshots", "encode(state, 'escape')"),
                          ("idempotency_keys", "encode(response, 'escape')"),
                          ("message_outbox", "t::text"), ("rm_message_addresses", "t::text")):
        dump = await own_pool.fetchval(
            f"SELECT coalesce(string_agg({column}, ''), '') FROM {table} t")
        assert "Test Debtor" not in dump and "5550001111" not in dump, table
    events = await own_pool.fetchval(
        "SELECT string_agg(encode(state, 'escape'), '') FROM stored_events "
        "WHERE originator_id = $1", case_id)
    assert "MessageQueued" not in events and '"content":"m1:' in events
    # ... and the sealed content no longer opens: the key is gone.
    assert (await data_keys.get([case_id]))[case_id] is None
    fresh = CaseService(cases.repository)
    reloaded = await fresh.load(tenant, case_id)
    assert open_content(None, case_id, tenant, reloaded.message(queued.message_id).content) is None
    # The sender fails it instead of sending it.
    sender = _sender(stack, own_pool, None)
    await sender.run_once()
    failed = (await fresh.load(tenant, case_id)).message(queued.message_id)
    assert str(failed.status) == "failed" and failed.detail == "personal data erased"
    assert datetime.now(UTC) - failed.failed_at < timedelta(minutes=5)  # type: ignore[operator]


async def test_the_sweep_records_a_missing_validation_notice_once(stack, own_pool, tenant):  # type: ignore[no-untyped-def]
    from ledger.messaging.addresses import AddressIndexProjection
    from ledger.messaging.runtime import sweep_late_notices
    from ledger.projections.runner import ProjectionRunner

    cases, data_keys, _ = stack
    ctx, case_id = await _placed_with_template(stack, tenant)

    def talked(case: Case, now: datetime) -> None:
        case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                            occurred_at=now - timedelta(days=6), now=now)

    await cases.execute(ctx, case_id, talked, lambda c, _: (200, b""))
    runner = ProjectionRunner(own_pool, cases.repository.store,
                              [AddressIndexProjection(DebtorCipher(data_keys), b"k" * 32)],
                              codec=cases.repository.codec)
    await runner.start()
    try:
        await runner.wait_until_caught_up()
    finally:
        await runner.stop()
    now = datetime.now(UTC)
    assert await sweep_late_notices(own_pool, cases, now) >= 1
    assert await sweep_late_notices(own_pool, cases, now) == 0
    rows = await cases.repository.store.read_stream(case_id)
    found = [r for r in rows if r.topic.endswith("ComplianceBreachFound")]
    assert len(found) == 1 and b"validation_notice_late" in found[0].state


async def test_a_message_that_cannot_be_processed_is_quarantined_and_the_others_are_sent(
        stack, own_pool, tenant, provider_failing_twice):  # type: ignore[no-untyped-def]
    from ledger.workers import held_items

    # A case sealed under another master key cannot be opened by this sender: a poison item.
    store = EventStore(own_pool)
    foreign_keys = DataKeys(store.fetch, os.urandom(32))
    foreign_cases = case_service(store, foreign_keys)
    foreign = (foreign_cases, foreign_keys, MessageService(foreign_cases, foreign_keys))
    foreign_ctx, foreign_case = await _placed_with_template(foreign, tenant)
    poison = await foreign[2].queue_message(foreign_ctx, foreign_case, "reminder")
    ctx, case_id = await _placed_with_template(stack, tenant + "-b")
    good = await stack[2].queue_message(ctx, case_id, "reminder")
    sender = _sender(stack, own_pool, provider_failing_twice.url + "/sms")
    sender._client = httpx.AsyncClient(timeout=5)  # run_once without the supervised loop
    try:
        for _ in range(6):
            await sender.run_once()
            await asyncio.sleep(0.1)
    finally:
        await sender._client.aclose()
    assert str(poison.message_id) in await held_items(own_pool, "message-sender")
    sent = await own_pool.fetchval("SELECT state FROM message_outbox WHERE message_id = $1",
                                   good.message_id)
    assert sent == "sent"
    assert [m["message_id"] for m in provider_failing_twice.report()["messages"]] == [
        str(good.message_id)]


async def test_keys_under_another_master_key_read_as_unopenable_in_one_call(stack, own_pool, tenant):  # type: ignore[no-untyped-def]
    from ledger.privacy.keys import MasterKeyMismatch

    ctx, case_id = await _placed_with_template(stack, tenant)
    other = DataKeys(EventStore(own_pool).fetch, os.urandom(32))
    with pytest.raises(MasterKeyMismatch):
        await other.get([case_id])
    unknown = uuid.uuid4()
    assert await other.get_openable([case_id, unknown]) == {case_id: None, unknown: None}
    assert (await stack[1].get_openable([case_id]))[case_id] is not None
