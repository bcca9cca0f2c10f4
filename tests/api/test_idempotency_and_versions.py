"""Idempotency-Key replays, If-Match, and concurrent writers to one case."""

from __future__ import annotations

import uuid

from api_helpers import assert_problem, payment, placement


async def test_a_repeated_post_with_the_same_key_replays_the_first_response(client, keys, case):
    headers = {**keys["agent"], "Idempotency-Key": f"note-{uuid.uuid4()}"}
    url = f"/v1/cases/{case['case_id']}/notes"
    first = await client.post(url, json={"text": "hello"}, headers=headers)
    again = await client.post(url, json={"text": "hello"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotency-replayed"] == "true" and "idempotency-replayed" not in first.headers
    assert again.content == first.content
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["version"] == 2  # the note was stored once


async def test_the_same_key_with_another_body_is_refused(client, keys, case):
    headers = {**keys["agent"], "Idempotency-Key": "reused"}
    url = f"/v1/cases/{case['case_id']}/notes"
    assert (await client.post(url, json={"text": "one"}, headers=headers)).status_code == 201
    response = await client.post(url, json={"text": "two"}, headers=headers)
    assert_problem(response, 422, "idempotency_key_reused")


async def test_the_same_document_serialised_again_is_the_same_body(client, keys, case):
    headers = {**keys["agent"], "Idempotency-Key": f"contact-{uuid.uuid4()}",
               "Content-Type": "application/json"}
    url = f"/v1/cases/{case['case_id']}/contacts"
    first = await client.post(url, headers=headers, content=(
        b'{"channel":"sms","direction":"outbound","outcome":"delivered",'
        b'"occurred_at":"2026-09-02T15:00:00Z","agent_id":"agent-7"}'))
    assert first.status_code == 201, first.text
    reordered = (b'{ "agent_id": "agent-7", "occurred_at": "2026-09-02T15:00:00Z",\n'
                 b'  "outcome": "delivered", "direction": "outbound", "channel": "sms" }\n')
    again = await client.post(url, headers=headers, content=reordered)
    assert again.status_code == 201 and again.headers["idempotency-replayed"] == "true"
    assert again.content == first.content
    other = await client.post(url, headers=headers, content=reordered.replace(b"sms", b"email"))
    assert_problem(other, 422, "idempotency_key_reused")


async def test_a_placement_replay_returns_201_again_not_200(client, keys):
    headers = {**keys["integration"], "Idempotency-Key": "place-1"}
    body = placement()
    first = await client.post("/v1/cases", json=body, headers=headers)
    again = await client.post("/v1/cases", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotency-replayed"] == "true"


async def test_a_payment_replayed_under_a_new_key_is_recorded_once(client, keys, case):
    body = payment(amount=2500)
    url = f"/v1/cases/{case['case_id']}/payments"
    first = await client.post(url, json=body, headers={**keys["integration"], "Idempotency-Key": "a"})
    second = await client.post(url, json=body, headers={**keys["integration"], "Idempotency-Key": "b"})
    replay_b = await client.post(url, json=body, headers={**keys["integration"], "Idempotency-Key": "b"})
    assert (first.status_code, second.status_code, replay_b.status_code) == (201, 200, 200)
    assert replay_b.headers["idempotency-replayed"] == "true"
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert view["paid_total"] == 2500 and view["version"] == 2


async def test_an_overlong_idempotency_key_is_refused(client, keys, case):
    response = await client.post(f"/v1/cases/{case['case_id']}/notes", json={"text": "x"},
                                 headers={**keys["agent"], "Idempotency-Key": "k" * 256})
    assert_problem(response, 422, "invalid_request")


async def test_if_match_with_a_stale_version_is_412_and_the_current_one_succeeds(client, keys, case):
    url = f"/v1/cases/{case['case_id']}/notes"
    stale = await client.post(url, json={"text": "x"}, headers={**keys["agent"], "If-Match": '"7"'})
    assert_problem(stale, 412, "version_mismatch")
    current = await client.post(url, json={"text": "x"}, headers={**keys["agent"], "If-Match": '"1"'})
    assert current.status_code == 201 and current.json()["version"] == 2
