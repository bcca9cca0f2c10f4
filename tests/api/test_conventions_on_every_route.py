"""The conventions of API.md on routes an audit found outside them: If-Match on every write
to a case, Idempotency-Key on every POST, lists paged alike, times and field names in 422s."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api_helpers import ago, assert_problem, placement, walk_pages
from test_messages import SMS, place, save


def _in(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def test_a_validation_notice_and_a_delivery_report_honour_if_match(client, keys, case):
    url = f"/v1/cases/{case['case_id']}"
    stale = {**keys["agent"], "If-Match": '"7"'}
    notice = {"sent_at": ago(minutes=1), "itemization_date": ago(days=1)[:10]}
    assert_problem(await client.post(f"{url}/validation-notice", json=notice, headers=stale),
                   412, "version_mismatch")
    sent = await client.post(f"{url}/validation-notice", json=notice,
                             headers={**keys["agent"], "If-Match": '"1"'})
    assert sent.status_code == 201, sent.text
    report_url = f"/v1/messages/{sent.json()['message_id']}/events"
    report = {"status": "returned", "at": ago(seconds=5)}
    assert_problem(await client.post(report_url, json=report, headers={
        **keys["integration"], "If-Match": '"1"'}), 412, "version_mismatch")
    version = (await client.get(url, headers=keys["agent"])).json()["version"]
    current = await client.post(report_url, json=report, headers={
        **keys["integration"], "If-Match": f'"{version}"'})
    assert current.status_code == 201 and current.json()["version"] == version + 1


async def test_a_revocation_and_a_preview_follow_the_idempotency_key(client, keys, tenant, make_key):
    listed = (await client.get("/v1/keys", headers=keys["admin"])).json()["items"]
    victim = next(k["key_id"] for k in listed if k["role"] == "analyst")
    key = {**keys["admin"], "Idempotency-Key": f"revoke-{uuid.uuid4()}"}
    first = await client.post(f"/v1/keys/{victim}/revocation", headers=key)
    again = await client.post(f"/v1/keys/{victim}/revocation", headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotency-replayed"] == "true" and again.content == first.content
    other = await client.post(f"/v1/keys/{uuid.uuid4().hex}/revocation", headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    name = (await save(client, keys, body=SMS)).json()["name"]
    one, two = await place(client, keys), await place(client, keys)
    key = {**keys["supervisor"], "Idempotency-Key": f"preview-{uuid.uuid4()}"}
    url = f"/v1/templates/{name}/preview"
    shown = await client.post(url, json={"case_id": one["case_id"]}, headers=key)
    replayed = await client.post(url, json={"case_id": one["case_id"]}, headers=key)
    assert shown.status_code == replayed.status_code == 200
    assert replayed.headers["idempotency-replayed"] == "true" and replayed.json() == shown.json()
    assert_problem(await client.post(url, json={"case_id": two["case_id"]}, headers=key),
                   422, "idempotency_key_reused")


async def test_complaints_and_keys_are_paged_and_the_work_queue_says_there_is_no_next_page(
        client, keys, case):
    for day in (3, 2, 1):
        received = await client.post(f"/v1/cases/{case['case_id']}/complaints", json={
            "category": "fees", "received_at": ago(days=day), "channel": "phone",
            "summary": "charged twice", "pause_collection": False}, headers=keys["agent"])
        assert received.status_code == 201, received.text

    async def get(path: str, **kw):
        return await client.get(path, headers=keys["admin"], **kw)

    pages = await walk_pages(get, f"/v1/cases/{case['case_id']}/complaints", 2)
    assert [len(p) for p in pages] == [2, 1]
    found = [c["received_at"] for p in pages for c in p]
    assert found == sorted(found)
    keys_pages = await walk_pages(get, "/v1/keys", 2)
    assert [len(p) for p in keys_pages] == [2, 2, 2]  # one key per role
    queue = (await client.get("/v1/work-queue?limit=1", headers=keys["supervisor"])).json()
    assert "next_cursor" in queue and queue["next_cursor"] is None
    assert_problem(await client.get("/v1/dialer-list?limit=501", headers=keys["supervisor"]),
                   422, "invalid_request")


async def test_an_inbound_time_in_the_future_is_refused_whoever_holds_the_address(client, keys):
    await place(client, keys, phones=["+15557654321"])
    for sender in ("+15557654321", "+15550000001"):  # a case's number, and nobody's
        for text in ("STOP", "call me"):
            response = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
                "from": sender, "text": text, "received_at": _in(minutes=10)})
            body = assert_problem(response, 422, "time_in_future")
            assert [e["field"] for e in body["errors"]] == ["received_at"]
    email = await client.post("/v1/inbound/email-unsubscribe", headers=keys["integration"],
                              json={"email": "nobody@example.com", "received_at": _in(hours=1)})
    assert_problem(email, 422, "time_in_future")


async def test_a_nul_character_is_refused_naming_its_field(client, keys, case):
    response = await client.post(f"/v1/cases/{case['case_id']}/complaints", json={
        "category": "fees", "received_at": ago(days=1), "channel": "phone",
        "summary": "a\x00b", "pause_collection": False}, headers=keys["agent"])
    body = assert_problem(response, 422, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["summary"]
    nested = placement()
    nested["debtor"]["name"] = "Ana\x00Li"
    body = assert_problem(await client.post("/v1/cases", json=nested,
                                            headers=keys["integration"]), 422, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["debtor.name"]


async def test_the_bearer_scheme_is_case_insensitive(client, keys, case):
    token = keys["agent"]["Authorization"].removeprefix("Bearer ")
    for scheme in ("bearer", "BEARER"):
        response = await client.get(f"/v1/cases/{case['case_id']}",
                                    headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200, scheme


async def test_a_multipart_body_on_a_json_route_is_named_plainly(client, keys, case):
    response = await client.post(
        f"/v1/cases/{case['case_id']}/notes", content=b"",
        headers={**keys["agent"], "Content-Type": "multipart/form-data; boundary=x"})
    assert_problem(response, 422, "invalid_request")
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages and not any(m.startswith("'") for m in messages), messages
