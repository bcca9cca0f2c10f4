"""Webhooks to bank systems: endpoints, signed deliveries to real local receivers, order,
retries, 410, rotation, redelivery, the SSRF guard and no personal data in payloads."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from ledger.api.app import create_app
from ledger.config import Settings
from ledger.db.migrations import migrate
from ledger.db.pool import connect
from ledger.services.keys import Role, create_key

from api_helpers import SECRET, assert_problem, payment, placement, walk_pages
from webhook_fixtures import ReceiverProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")
PERSONAL = ("Ana Li", "+15551234567", "ana@example.com", "debtor", "phones", "emails")


@pytest.fixture(scope="module")
async def hooks_server(make_database: Any) -> AsyncIterator[tuple[str, str]]:
    """(base URL, database URL) of a Ledger whose deliverer may call 127.0.0.1 over http."""
    url = await make_database()
    await migrate(url)
    settings = Settings(database_url=url, secret_key=SECRET, pool_max_size=24,
                        webhook_allow_hosts=frozenset({"127.0.0.1"}),
                        webhook_backoff_scale=0.01)
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings, url, derive_master_key_for_tests=True), log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", url
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
async def api(hooks_server: tuple[str, str]) -> AsyncIterator[Callable[..., Any]]:
    base, url = hooks_server
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    conn = await connect(url)
    keys = {}
    for role in (Role.INTEGRATION, Role.AGENT, Role.ADMIN):
        _, key = await create_key(conn, SECRET.encode(), tenant_id=tenant, role=role)
        keys[role.value] = {"Authorization": f"Bearer {key}"}
    await conn.close()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        async def call(method: str, path: str, role: str = "integration", **kw: Any) -> Any:
            return await client.request(method, path, headers={**keys[role], **kw.pop(
                "headers", {})}, **kw)
        call.keys = keys  # type: ignore[attr-defined]
        yield call


@pytest.fixture
def receivers() -> Iterator[Callable[..., ReceiverProcess]]:
    started: list[ReceiverProcess] = []

    def start(*secrets: str, **kw: Any) -> ReceiverProcess:
        receiver = ReceiverProcess(list(secrets), **kw)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


async def _endpoint(api: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    response = await api("POST", "/v1/webhook-endpoints", json={
        "url": url, "event_types": types or ["*"], "description": "core banking"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _place(api: Any) -> str:
    response = await api("POST", "/v1/cases", json=placement())
    assert response.status_code == 201, response.text
    return response.json()["case_id"]  # type: ignore[no-any-return]


async def test_signed_deliveries_verify_with_the_package_and_carry_no_personal_data(
        api: Any, receivers: Any, hooks_server: tuple[str, str]) -> None:
    port_holder = ReceiverProcess([])  # learn a free port, then start the real one there
    port_holder.stop()
    created = await api("POST", "/v1/webhook-endpoints", json={
        "url": f"http://127.0.0.1:{port_holder.port}/hook", "event_types": ["*"]})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    receiver = receivers(secret, port=port_holder.port)
    case_id = await _place(api)
    paid = await api("POST", f"/v1/cases/{case_id}/payments", json=payment(amount=1250))
    assert paid.status_code == 201
    note = await api("POST", f"/v1/cases/{case_id}/notes", role="agent",
                     json={"text": "Ana Li called from +15551234567"})
    assert note.status_code == 201
    got = await receiver.wait_for(lambda g: len(g) >= 3)
    assert all(m["verified"] == [0] for m in got), "every signature verifies with the secret"
    assert [m["body"]["type"] for m in got] == ["Placed", "PaymentReceived", "NoteAdded"]
    first = got[0]["body"]
    assert set(first) >= {"id", "type", "case_id", "external_ref", "position", "cursor",
                          "occurred_at", "recorded_at", "data"}
    assert first["case_id"] == case_id and first["external_ref"].startswith("CC-")
    assert got[1]["body"]["data"]["amount"] == 1250
    raw = str([m["body"] for m in got])
    for personal in PERSONAL:
        assert personal not in raw, f"{personal!r} leaked into a payload"
    assert all(m["webhook_id"].startswith("msg_") for m in got)
    conn = await connect(hooks_server[1])
    try:  # the secret is nowhere in the database in clear (nor its base64 material)
        material = secret.removeprefix("whsec_").encode()
        for table in ("webhook_secrets", "stored_events", "idempotency_keys", "webhook_deliveries"):
            dump = await conn.fetchval(f"SELECT string_agg(t::text, '') FROM {table} t")
            assert material not in (dump or "").encode() and secret not in (dump or "")
    finally:
        await conn.close()


async def test_one_cases_events_arrive_in_order_under_eight_concurrent_writers(
        api: Any, receivers: Any) -> None:
    receiver = receivers()
    await _endpoint(api, receiver.url, ["PaymentReceived"])
    cases = [await _place(api) for _ in range(4)]

    async def writer(index: int) -> None:
        for n in range(6):
            case_id = cases[(index + n) % len(cases)]
            for _ in range(5):  # a concurrency conflict is answered 409: the writer retries
                response = await api("POST", f"/v1/cases/{case_id}/payments",
                                     json=payment(amount=100 + index))
                if response.status_code == 201:
                    break
                assert response.status_code == 409

    await asyncio.gather(*(writer(i) for i in range(8)))
    got = await receiver.wait_for(lambda g: len({m["webhook_id"] for m in g}) >= 48)
    for case_id in cases:
        versions = [m["body"]["version"] for m in got if m["body"]["case_id"] == case_id]
        assert versions == sorted(versions) and len(versions) == len(set(versions)), versions
    assert len({m["webhook_id"] for m in got}) == 48


async def test_failures_are_retried_with_the_same_webhook_id_until_a_2xx(
        api: Any, receivers: Any) -> None:
    receiver = receivers(script="500,503,500")
    endpoint = await _endpoint(api, receiver.url, ["Placed"])
    await _place(api)
    failing = await receiver.wait_for(lambda g: len(g) >= 1)
    assert failing[0]["status"] == 500
    deliveries = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/deliveries"
    for _ in range(100):  # results are written in batches; the retry waits about a second
        failed = (await api("GET", f"{deliveries}?status=failed")).json()["items"]
        if failed:
            break
        await asyncio.sleep(0.02)
    # Found by a black-box audit: ``status=failed`` listed items whose status read "pending".
    assert [(i["status"], i["failing"]) for i in failed] == [("failed", True)]
    assert failed[0]["next_attempt_at"] is not None  # when the waiting retry is due
    got = await receiver.wait_for(lambda g: any(m["status"] == 200 for m in g))
    assert [m["status"] for m in got] == [500, 503, 500, 200]
    assert len({m["webhook_id"] for m in got}) == 1
    await asyncio.sleep(0.3)  # results are written in batches
    log = (await api("GET", f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/deliveries")).json()
    assert log["items"][0]["status"] == "delivered" and log["items"][0]["attempts"] == 4
    assert [a["status_code"] for a in log["items"][0]["attempt_log"]] == [500, 503, 500, 200]
    redo = await api("POST", f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/deliveries/"
                     f"{log['items'][0]['delivery_id']}/redelivery")
    assert redo.status_code == 202
    again = await receiver.wait_for(lambda g: len(g) >= 5)
    assert again[4]["webhook_id"] == got[0]["webhook_id"], "a redelivery keeps the webhook-id"


async def test_a_410_disables_the_endpoint_and_says_so_in_its_state_and_metrics(
        api: Any, receivers: Any, hooks_server: tuple[str, str]) -> None:
    receiver = receivers(status=410)
    endpoint = await _endpoint(api, receiver.url, ["Placed", "PaymentReceived"])
    path = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}"
    case_id = await _place(api)
    await receiver.wait_for(lambda g: len(g) >= 1)
    for _ in range(100):
        state = (await api("GET", path)).json()
        if not state["enabled"]:
            break
        await asyncio.sleep(0.05)
    assert state["enabled"] is False and state["disabled_reason"] == "gone"
    await api("POST", f"/v1/cases/{case_id}/payments", json=payment())
    await asyncio.sleep(0.5)
    assert len(receiver.received()) == 1, "nothing is sent to a disabled endpoint"
    async with httpx.AsyncClient() as plain:
        metrics = (await plain.get(hooks_server[0] + "/metrics")).text
    assert f'ledger_webhook_endpoint_enabled{{endpoint_id="{endpoint["endpoint_id"]}"}} 0.0' in metrics
    assert "ledger_webhook_lag_seconds" in metrics and "ledger_webhook_failing_seconds" in metrics
    async with httpx.AsyncClient() as plain:
        ready = (await plain.get(hooks_server[0] + "/ready")).json()
    assert {"name": "webhooks", "state": "running"}.items() <= next(
        w for w in ready["workers"] if w["name"] == "webhooks").items()


async def test_after_a_rotation_messages_carry_both_signatures_and_either_secret_verifies(
        api: Any, receivers: Any) -> None:
    port_holder = ReceiverProcess([])
    port_holder.stop()
    endpoint = await _endpoint(api, f"http://127.0.0.1:{port_holder.port}/hook", ["Placed"])
    rotated = await api("POST", f"/v1/webhook-endpoints/{endpoint['endpoint_id']}/secret-rotation")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["secret"]
    assert new != endpoint["secret"] and rotated.json()["previous_secret_valid_until"]
    receiver = receivers(endpoint["secret"], new, port=port_holder.port)
    await _place(api)
    got = await receiver.wait_for(lambda g: len(g) >= 1)
    assert got[0]["verified"] == [0, 1]
    assert len(got[0]["signature"].split(" ")) == 2
    assert all(s.startswith("v1,") for s in got[0]["signature"].split(" "))


async def test_endpoint_management_roles_tenants_and_the_test_message(
        api: Any, receivers: Any) -> None:
    receiver = receivers()
    endpoint = await _endpoint(api, receiver.url, ["PaymentReceived"])
    path = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}"
    assert (await api("GET", path)).json()["event_types"] == ["PaymentReceived"]
    assert_problem(await api("GET", path, role="agent"), 403, "forbidden")
    assert (await api("GET", path, role="admin")).status_code == 200
    listed = (await api("GET", "/v1/webhook-endpoints")).json()
    assert [e["endpoint_id"] for e in listed["items"]] == [endpoint["endpoint_id"]]
    assert endpoint["secret"] not in str(listed) and "whsec_" not in str(listed)
    changed = await api("PATCH", path, json={"enabled": False, "event_types": ["*"]})
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["disabled_reason"] == "requested"
    bad = await api("PATCH", path, json={"event_types": ["NoSuchEvent"]})
    assert_problem(bad, 422, "invalid_request")
    tested = await api("POST", f"{path}/test")
    assert tested.status_code == 200 and tested.json()["delivered"] is True
    got = await receiver.wait_for(lambda g: len(g) >= 1)
    assert got[0]["body"]["type"] == "webhook.test"
    assert (await api("DELETE", path)).status_code == 204
    assert_problem(await api("GET", path), 404, "not_found")
    other = await api("GET", f"/v1/webhook-endpoints/{uuid.uuid4()}")
    assert_problem(other, 404, "not_found")


@pytest.mark.parametrize("url", [
    "https://10.0.0.5/hook", "https://[::1]/hook", "https://169.254.169.254/latest",
    "https://224.0.0.1/hook", "ftp://example.com/hook", "http://example.com/hook",
    "https://user:pw@example.com/hook",
])
async def test_urls_webhooks_may_not_call_are_refused_with_422(api: Any, url: str) -> None:
    refused = await api("POST", "/v1/webhook-endpoints", json={"url": url, "event_types": ["*"]})
    assert_problem(refused, 422, "invalid_request")
    assert refused.json()["errors"][0]["field"] == "url"


async def test_a_name_resolving_to_loopback_is_refused_and_never_called(api: Any) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        for url in (f"https://localhost:{port}/hook", f"http://localhost:{port}/hook"):
            refused = await api("POST", "/v1/webhook-endpoints",
                                json={"url": url, "event_types": ["*"]})
            assert_problem(refused, 422, "invalid_request")
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection was ever attempted
    finally:
        listener.close()


async def test_a_repeated_idempotency_key_replays_the_same_endpoint_and_refuses_another(
        api: Any) -> None:
    first = {"url": "http://127.0.0.1:9/a", "event_types": ["Closed"]}
    key = {"Idempotency-Key": f"ep-{uuid.uuid4().hex[:8]}"}
    made = await api("POST", "/v1/webhook-endpoints", json=first, headers=key)
    assert made.status_code == 201, made.text
    again = await api("POST", "/v1/webhook-endpoints", json=first, headers=key)
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["endpoint_id"] == made.json()["endpoint_id"]
    other = await api("POST", "/v1/webhook-endpoints", headers=key,
                      json={"url": "http://127.0.0.1:9/b", "event_types": ["PaymentReceived"]})
    assert_problem(other, 422, "idempotency_key_reused")
    listed = (await api("GET", "/v1/webhook-endpoints")).json()["items"]
    assert [e["url"] for e in listed] == ["http://127.0.0.1:9/a"]


async def test_endpoints_are_listed_in_pages_oldest_first(api: Any) -> None:
    made = [(await _endpoint(api, f"http://127.0.0.1:9/{i}"))["endpoint_id"] for i in range(3)]
    pages = await walk_pages(lambda p, **kw: api("GET", p, **kw), "/v1/webhook-endpoints", 2)
    assert [[e["endpoint_id"] for e in page] for page in pages] == [made[:2], made[2:]]


async def test_a_repeated_idempotency_key_rotates_once_and_sends_one_test(
        api: Any, receivers: Any) -> None:
    receiver = receivers()
    endpoint = await _endpoint(api, receiver.url, ["PaymentReceived"])
    path = f"/v1/webhook-endpoints/{endpoint['endpoint_id']}"
    version = (await api("GET", path)).json()["version"]
    key = {"Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    first = await api("POST", f"{path}/secret-rotation", headers=key)
    again = await api("POST", f"{path}/secret-rotation", headers=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert first.json()["secret"].startswith("whsec_") and "idempotency-replayed" not in first.headers
    # the replay rotates nothing and does not show the secret again
    assert again.headers["idempotency-replayed"] == "true" and again.json()["secret"] is None
    assert (await api("GET", path)).json()["version"] == version + 1
    other = await api("POST", f"{path}/secret-rotation", headers=key, json={"note": "x"})
    assert_problem(other, 422, "idempotency_key_reused")
    too_long = await api("POST", f"{path}/secret-rotation", headers={"Idempotency-Key": "k" * 256})
    assert_problem(too_long, 422, "invalid_request")
    key = {"Idempotency-Key": f"test-{uuid.uuid4()}"}
    tested = [await api("POST", f"{path}/test", headers=key) for _ in range(2)]
    assert [t.status_code for t in tested] == [200, 200]
    assert tested[1].json() == tested[0].json() and tested[1].headers["idempotency-replayed"] == "true"
    await receiver.wait_for(lambda g: len(g) >= 1)
    await asyncio.sleep(0.5)
    assert len(receiver.received()) == 1  # one test message, not two
