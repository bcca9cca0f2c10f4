"""Messages through the API: templates, queueing, permission, delivery reports, opt-outs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from api_helpers import ago, assert_problem, placement, walk_pages

SMS = "{{ agency_name }}: {{ debtor_name }}, {{ balance }} is due on {{ external_ref }}. {{ opt_out }}"


def zone_at_local_hour(hour: int) -> str:
    """An IANA zone in which it is now about ``hour`` o'clock (tests must not depend on
    when they run)."""
    offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


async def place(client, keys, hour: int = 12, **debtor) -> dict:
    body = placement()
    body["debtor"] = {**body["debtor"], "timezone": zone_at_local_hour(hour), **debtor}
    response = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def save(client, keys, name=None, channel="sms", body=SMS, **extra):
    payload = {"name": name or f"t-{uuid.uuid4().hex[:8]}", "channel": channel,
               "locale": "en_US", "body": body, **extra}
    return await client.post("/v1/templates", json=payload, headers=keys["supervisor"])


async def test_saving_a_template_twice_makes_version_two(client, keys):
    first = await save(client, keys, name="reminder")
    second = await save(client, keys, name="reminder", body="Hi {{ debtor_name }}. {{ opt_out }}")
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["version"] == 1 and second.json()["version"] == 2
    assert first.json()["template_id"] == second.json()["template_id"]


async def test_templates_are_refused_for_unknown_fields_missing_opt_out_and_escapes(client, keys):
    assert_problem(await save(client, keys, body="{{ ssn }} {{ opt_out }}"), 422, "unknown_field")
    assert_problem(await save(client, keys, body="Pay {{ balance }} now"), 422, "opt_out_missing")
    escape = await save(client, keys, body="{{ ''.__class__.__mro__ }} {{ opt_out }}")
    assert_problem(escape, 422, "invalid_request")
    too_long = await save(client, keys, body="x" * 1531 + "{{ opt_out }}")
    assert_problem(too_long, 422, "message_too_long")
    letter = await save(client, keys, channel="letter", body="Dear {{ debtor_name }}")
    assert letter.status_code == 201
    response = await client.post("/v1/templates", headers=keys["agent"], json={
        "name": "x", "channel": "sms", "body": SMS})
    assert_problem(response, 403, "forbidden")


async def test_preview_renders_a_real_case_with_money_formatted(client, keys):
    case = await place(client, keys)
    name = (await save(client, keys)).json()["name"]
    response = await client.post(f"/v1/templates/{name}/preview", json={"case_id": case["case_id"]},
                                 headers=keys["supervisor"])
    assert response.status_code == 200, response.text
    assert "Ana Li" in response.json()["body"] and "$2,851.50" in response.json()["body"]
    assert "Reply STOP" in response.json()["body"]
    missing = await client.post("/v1/templates/nope/preview", json={"case_id": case["case_id"]},
                                headers=keys["supervisor"])
    assert_problem(missing, 404, "not_found")


async def test_a_message_is_queued_in_hours_and_scheduled_outside_them(client, keys):
    name = (await save(client, keys)).json()["name"]
    day = await place(client, keys, hour=12)
    night = await place(client, keys, hour=2)
    now = datetime.now(UTC)
    queued = await client.post(f"/v1/cases/{day['case_id']}/messages", json={"template": name},
                               headers=keys["agent"])
    assert queued.status_code == 201, queued.text
    assert queued.json()["status"] == "queued"
    scheduled = await client.post(f"/v1/cases/{night['case_id']}/messages",
                                  json={"template": name}, headers=keys["agent"])
    assert scheduled.json()["status"] == "scheduled", scheduled.text
    send_at = datetime.fromisoformat(scheduled.json()["send_at"])
    assert now + timedelta(hours=5) < send_at < now + timedelta(hours=7)
    message = await client.get(f"/v1/messages/{queued.json()['message_id']}",
                               headers=keys["agent"])
    assert message.status_code == 200
    assert message.json()["to"] == "+15551234567" and "Ana Li" in message.json()["body"]
    listed = await client.get(f"/v1/cases/{day['case_id']}/messages", headers=keys["agent"])
    assert [m["message_id"] for m in listed.json()["items"]] == [queued.json()["message_id"]]
    history = await client.get(f"/v1/cases/{day['case_id']}/history", headers=keys["supervisor"])
    queued_events = [e for e in history.json()["items"] if e["type"] == "MessageQueued"]
    assert len(queued_events) == 1
    assert "Ana Li" not in str(queued_events[0]["data"]) and "5551234567" not in str(queued_events)


async def test_a_ceased_case_refuses_with_every_reason(client, keys):
    name = (await save(client, keys)).json()["name"]
    case = await place(client, keys)
    await client.post(f"/v1/cases/{case['case_id']}/cease", json={"received_at": ago(minutes=5)},
                      headers=keys["agent"])
    await client.post(f"/v1/cases/{case['case_id']}/disputes",
                      json={"reason": "not mine", "opened_at": ago(minutes=4)},
                      headers=keys["agent"])
    response = await client.post(f"/v1/cases/{case['case_id']}/messages",
                                 json={"template": name}, headers=keys["agent"])
    body = assert_problem(response, 409, "contact_not_allowed")
    assert {"cease", "dispute_open"} <= {r["rule"] for r in body["reasons"]}
    no_phone = await place(client, keys, phones=[])
    response = await client.post(f"/v1/cases/{no_phone['case_id']}/messages",
                                 json={"template": name}, headers=keys["agent"])
    assert [r["rule"] for r in assert_problem(response, 409, "contact_not_allowed")["reasons"]] \
        == ["no_address"]


async def test_a_delivered_message_counts_as_an_outbound_contact(client, keys):
    name = (await save(client, keys)).json()["name"]
    case = await place(client, keys)
    queued = (await client.post(f"/v1/cases/{case['case_id']}/messages",
                                json={"template": name}, headers=keys["agent"])).json()
    url = f"/v1/messages/{queued['message_id']}/events"
    report = {"status": "delivered", "at": ago(seconds=1)}
    first = await client.post(url, json=report, headers=keys["integration"])
    again = await client.post(url, json=report, headers=keys["integration"])
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert first.json()["status"] == "delivered" and again.json()["version"] == first.json()["version"]
    history = (await client.get(f"/v1/cases/{case['case_id']}/history",
                                headers=keys["supervisor"])).json()["items"]
    contacts = [e["data"] for e in history if e["type"] == "ContactRecorded"]
    assert [(c["channel"], c["direction"], c["outcome"]) for c in contacts] == [
        ("sms", "outbound", "delivered")]
    for _ in range(100):  # the contacts read model follows the feed
        metrics = await client.get("/v1/metrics/contacts?group_by=channel",
                                   headers=keys["supervisor"])
        by_channel = {i["group"]: i for i in metrics.json()["items"]}
        if "sms" in by_channel:
            break
        await asyncio.sleep(0.1)
    assert by_channel["sms"]["attempts"] == 1 and by_channel["sms"]["right_party"] == 0
    assert_problem(await client.post(url, json=report, headers=keys["agent"]), 403, "forbidden")
    unknown = await client.post(f"/v1/messages/{uuid.uuid4()}/events", json=report,
                                headers=keys["integration"])
    assert_problem(unknown, 404, "not_found")


async def test_stop_opts_the_number_out_on_every_case_holding_it(client, keys):
    number = f"+1555{uuid.uuid4().int % 10**7:07d}"
    first = await place(client, keys, phones=[number])
    second = await place(client, keys, phones=["(555) " + number[5:8] + "-" + number[8:]])
    other = await place(client, keys)
    # Right after the placements: the route waits for the address index to catch up.
    response = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
        "from": number, "text": "  Stop ", "received_at": ago(seconds=1)})
    result = response.json()
    assert sorted(result["opted_out_cases"]) == sorted([first["case_id"], second["case_id"]])
    permission = await client.get(f"/v1/cases/{first['case_id']}/contact-permission?channel=sms",
                                  headers=keys["agent"])
    assert permission.json()["allowed"] is False
    assert [r["rule"] for r in permission.json()["reasons"]] == ["opted_out"]
    name = (await save(client, keys)).json()["name"]
    refused = await client.post(f"/v1/cases/{first['case_id']}/messages", json={"template": name},
                                headers=keys["agent"])
    assert "opted_out" in [r["rule"] for r in
                           assert_problem(refused, 409, "contact_not_allowed")["reasons"]]
    allowed = await client.post(f"/v1/cases/{other['case_id']}/messages", json={"template": name},
                                headers=keys["agent"])
    assert allowed.status_code == 201
    chat = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
        "from": number, "text": "stop calling me at work", "received_at": ago(seconds=1)})
    assert chat.json()["opted_out_cases"] == [] and len(chat.json()["recorded_cases"]) == 2
    bad = await client.post("/v1/inbound/sms", headers=keys["integration"], json={
        "from": "not a number", "text": "STOP", "received_at": ago(seconds=1)})
    assert_problem(bad, 422, "invalid_request")


async def test_an_email_unsubscribe_opts_the_address_out(client, keys):
    address = f"Debtor.{uuid.uuid4().hex[:8]}@Example.com"
    case = await place(client, keys, emails=[address])
    response = await client.post("/v1/inbound/email-unsubscribe", json={"email": address.upper()},
                                 headers=keys["integration"])
    assert response.status_code == 200, response.text
    assert response.json()["opted_out_cases"] == [case["case_id"]]
    permission = await client.get(
        f"/v1/cases/{case['case_id']}/contact-permission?channel=email", headers=keys["agent"])
    assert [r["rule"] for r in permission.json()["reasons"]] == ["opted_out"]
    sms = await client.get(f"/v1/cases/{case['case_id']}/contact-permission?channel=sms",
                           headers=keys["agent"])
    assert sms.json()["allowed"] is True
    history = (await client.get(f"/v1/cases/{case['case_id']}/history",
                                headers=keys["supervisor"])).json()["items"]
    assert [e["data"]["channel"] for e in history if e["type"] == "ChannelOptedOut"] == ["email"]
    assert_problem(await client.post("/v1/inbound/email-unsubscribe", json={"email": "nope"},
                                     headers=keys["integration"]), 422, "invalid_request")
    assert_problem(await client.post("/v1/inbound/email-unsubscribe", json={"email": address},
                                     headers=keys["agent"]), 403, "forbidden")


async def test_a_cases_messages_are_listed_in_pages(client, keys):
    name = (await save(client, keys)).json()["name"]
    case = await place(client, keys, hour=12)
    sent = []
    for _ in range(3):
        queued = await client.post(f"/v1/cases/{case['case_id']}/messages",
                                   json={"template": name}, headers=keys["agent"])
        assert queued.status_code == 201, queued.text
        sent.append(queued.json()["message_id"])
    pages = await walk_pages(lambda p, **kw: client.get(p, headers=keys["agent"], **kw),
                             f"/v1/cases/{case['case_id']}/messages", 2)
    assert [[m["message_id"] for m in page] for page in pages] == [sent[:2], sent[2:]]


async def test_a_message_being_retried_shows_its_attempts_and_why(client, keys, pool):
    name = (await save(client, keys)).json()["name"]
    case = await place(client, keys, hour=12)
    queued = (await client.post(f"/v1/cases/{case['case_id']}/messages", json={"template": name},
                                headers=keys["agent"])).json()
    url = f"/v1/messages/{queued['message_id']}"
    for _ in range(200):  # the sender (in this app, without providers) postpones it
        view = (await client.get(url, headers=keys["agent"])).json()
        if view["detail"]:
            break
        await asyncio.sleep(0.05)
    assert view["status"] == "queued" and view["detail"] == "no sms provider configured"
    # What the sender records after a provider refused twice (the message is still queued).
    await pool.execute("UPDATE message_outbox SET attempts = 2, last_error = 'HTTP 503', "
                       "next_attempt_at = now() + interval '1 hour' WHERE message_id = $1",
                       uuid.UUID(queued["message_id"]))
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["status"] == "queued"
    assert view["attempts"] == 2 and view["detail"] == "HTTP 503"
