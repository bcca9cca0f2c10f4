"""Letters: the validation notice as a PDF read back by pdftotext, the print house's list, the
late-notice breach, and erasure of letter content."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from api_helpers import ago, assert_problem, payment, placement


def pdf_text(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True, timeout=30)
    return done.stdout.decode()


async def _placed(client, keys, **changes) -> dict:
    body = placement(**changes)
    body["debtor"] = {**body["debtor"], "address": "12 Elm Street\nAustin, TX 78701"}
    response = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_validation_notice_pdf_itemises_the_debt_with_the_right_amounts(client, keys):
    case = await _placed(client, keys, placed_at=ago(days=40))
    url = f"/v1/cases/{case['case_id']}"
    paid = await client.post(url + "/payments", json=payment(amount=10_000, received_at=ago(days=3)),
                             headers=keys["integration"])
    assert paid.status_code == 201
    fee = await client.post(url + "/adjustments", headers=keys["supervisor"], json={
        "kind": "fee", "amount": 2_500, "reason": "late fee", "occurred_at": ago(days=2)})
    assert fee.status_code == 201, fee.text
    sent_at = datetime.now(UTC) - timedelta(minutes=1)
    itemization_date = (datetime.now(UTC) - timedelta(days=10)).date()
    response = await client.post(url + "/validation-notice", headers=keys["agent"], json={
        "sent_at": sent_at.isoformat(), "itemization_date": itemization_date.isoformat()})
    assert response.status_code == 201, response.text
    message_id = response.json()["message_id"]
    message = (await client.get(f"/v1/messages/{message_id}", headers=keys["agent"])).json()
    notice = message["validation_notice"]
    assert message["channel"] == "letter" and notice["itemization_amount"] == 285_150
    assert (notice["payments_since"], notice["fees_since"]) == (10_000, 2_500)
    assert notice["current_amount"] == 285_150 - 10_000 + 2_500

    document = await client.get(f"/v1/messages/{message_id}/document", headers=keys["agent"])
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/pdf")
    text = pdf_text(document.content)
    for expected in ("Ledger Collections", "Ana Li", "12 Elm Street", "Austin, TX 78701",
                     case["external_ref"], "$2,851.50", "$100.00", "$25.00", "$2,776.50",
                     notice["validation_period_ends"], "PAYMENT SLIP"):
        assert expected in text, expected

    letters = await client.get(f"/v1/letters?date={sent_at.date().isoformat()}",
                               headers=keys["integration"])
    assert letters.status_code == 200
    assert message_id in [item["message_id"] for item in letters.json()["items"]]
    assert_problem(await client.get("/v1/letters?date=2026-13-01", headers=keys["integration"]),
                   422, "invalid_request")
    assert_problem(await client.get("/v1/letters?date=2026-12-01", headers=keys["agent"]),
                   403, "forbidden")


async def test_a_notice_sent_after_five_days_is_a_validation_notice_late_breach(client, keys):
    case = await _placed(client, keys, placed_at=ago(days=40))
    url = f"/v1/cases/{case['case_id']}"
    contact = await client.post(url + "/contacts", headers=keys["agent"], json={
        "channel": "letter", "direction": "outbound", "outcome": "right_party",
        "occurred_at": ago(days=9), "agent_id": "agent-7"})
    assert contact.status_code == 201, contact.text
    response = await client.post(url + "/validation-notice", headers=keys["agent"], json={
        "sent_at": ago(days=1), "itemization_date": (datetime.now(UTC) - timedelta(days=30)).date().isoformat()})
    assert response.status_code == 201, response.text
    history = (await client.get(url + "/history", headers=keys["supervisor"])).json()["items"]
    found = [e["data"] for e in history if e["type"] == "ComplianceBreachFound"]
    assert [f["rule"] for f in found] == ["validation_notice_late"]
    for _ in range(100):  # the breach report reads a projection
        report = await client.get("/v1/compliance/breaches?rule=validation_notice_late",
                                  headers=keys["supervisor"])
        assert report.status_code == 200, report.text
        if report.json()["items"]:
            break
        await asyncio.sleep(0.1)
    assert [b["case_id"] for b in report.json()["items"]] == [case["case_id"]]


async def test_after_erasure_a_letter_shows_no_personal_data(client, keys):
    case = await _placed(client, keys)
    template = await client.post("/v1/templates", headers=keys["supervisor"], json={
        "name": "notice", "channel": "letter", "body": "Dear {{ debtor_name }}, you owe {{ balance }}."})
    assert template.status_code == 201
    queued = await client.post(f"/v1/cases/{case['case_id']}/messages", json={"template": "notice"},
                               headers=keys["agent"])
    assert queued.status_code == 201, queued.text
    message_id = queued.json()["message_id"]
    before = (await client.get(f"/v1/messages/{message_id}", headers=keys["agent"])).json()
    assert "Ana Li" in before["body"] and before["to"].startswith("12 Elm Street")
    erased = await client.post(f"/v1/cases/{case['case_id']}/erasure", json={"reason": "request"},
                               headers=keys["admin"])
    assert erased.status_code == 201, erased.text
    after = await client.get(f"/v1/messages/{message_id}", headers=keys["agent"])
    assert after.json()["erased"] is True and after.json()["body"] is None
    assert "Ana Li" not in after.text and "Elm" not in after.text
    listed = await client.get(f"/v1/cases/{case['case_id']}/messages", headers=keys["agent"])
    assert "Ana Li" not in listed.text
    assert_problem(await client.get(f"/v1/messages/{message_id}/document", headers=keys["agent"]),
                   409, "personal_data_erased")
    feed = await client.get(f"/v1/cases/{case['case_id']}/history", headers=keys["supervisor"])
    assert "Ana Li" not in feed.text and "Elm Street" not in feed.text


async def test_the_worked_example_ends_the_validation_period_on_december_30(client, keys):
    case = await _placed(client, keys, placed_at="2026-11-02T15:00:00Z")
    response = await client.post(f"/v1/cases/{case['case_id']}/validation-notice",
                                 headers=keys["agent"], json={
                                     "sent_at": "2026-11-20T16:00:00Z",
                                     "itemization_date": "2026-11-02"})
    assert response.status_code == 201, response.text
    assert response.json()["validation_period_ends"] == "2026-12-30"
    assert response.json()["itemization"]["current_amount"] == case["balance"]
    message = await client.get(f"/v1/messages/{response.json()['message_id']}",
                               headers=keys["auditor"])
    assert message.json()["validation_period_ends"] == "2026-12-30"
    assert message.json()["send_at"].startswith("2026-11-20")
    naive = await client.post(f"/v1/cases/{case['case_id']}/validation-notice",
                              headers=keys["agent"], json={"sent_at": "2026-11-20T16:00:00",
                                                           "itemization_date": "2026-11-02"})
    assert_problem(naive, 422, "invalid_request")


async def test_a_notice_mailed_to_a_debtor_without_an_address_on_file_is_recorded_not_refused(
        client, keys):
    response = await client.post("/v1/cases", json=placement(placed_at=ago(days=20)),
                                 headers=keys["integration"])
    assert response.status_code == 201, response.text
    url = f"/v1/cases/{response.json()['case_id']}"
    itemization_date = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    notice = await client.post(url + "/validation-notice", headers=keys["agent"], json={
        "sent_at": ago(minutes=1), "itemization_date": itemization_date})
    assert notice.status_code == 201, notice.text
    assert notice.json()["validation_period_ends"]
    message_id = notice.json()["message_id"]
    message = (await client.get(f"/v1/messages/{message_id}", headers=keys["agent"])).json()
    assert message["channel"] == "letter" and message["to"] == "Address not on file"
    document = await client.get(f"/v1/messages/{message_id}/document", headers=keys["agent"])
    assert document.status_code == 200
    text = pdf_text(document.content)
    assert "Ana Li" in text and "Address not on file" in text
    # What API.md refuses is still refused: an ordinary letter has nowhere to go ...
    template = await client.post("/v1/templates", headers=keys["supervisor"], json={
        "name": "reminder-letter", "channel": "letter", "body": "You owe {{ balance }}."})
    assert template.status_code == 201, template.text
    letter = await client.post(url + "/messages", json={"template": "reminder-letter"},
                               headers=keys["agent"])
    reasons = assert_problem(letter, 409, "contact_not_allowed")["reasons"]
    assert [r["rule"] for r in reasons] == ["no_address"]
    # ... and a notice itemised after it was sent is still bad input.
    later = await client.post(url + "/validation-notice", headers=keys["agent"], json={
        "sent_at": ago(days=12), "itemization_date": itemization_date})
    assert_problem(later, 422, "invalid_request")
