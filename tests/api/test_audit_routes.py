"""Audit routes: history, time travel, statement, verify and erasure through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_helpers import assert_problem, payment, placement

NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def _place(client, keys, **changes):
    body = placement(placed_at=iso(NOW - timedelta(days=60)), **changes)
    response = await client.post("/v1/cases", json=body, headers=keys["integration"])
    assert response.status_code == 201, response.text
    return response.json()["case_id"]


async def test_history_lists_every_event_oldest_first_in_pages_for_auditors_only(client, keys):
    case_id = await _place(client, keys)
    for days in (50, 40, 30):
        await client.post(f"/v1/cases/{case_id}/payments",
                          json=payment(received_at=iso(NOW - timedelta(days=days))),
                          headers=keys["integration"])
    first = (await client.get(f"/v1/cases/{case_id}/history", params={"limit": 3},
                              headers=keys["auditor"])).json()
    rest = (await client.get(f"/v1/cases/{case_id}/history",
                             params={"limit": 3, "cursor": first["next_cursor"]},
                             headers=keys["supervisor"])).json()
    items = first["items"] + rest["items"]
    assert [i["version"] for i in items] == [1, 2, 3, 4] and rest["next_cursor"] is None
    assert items[0]["type"] == "Placed" and items[0]["data"]["debtor"]["name"] == "Ana Li"
    assert items[1]["data"]["amount"] == 1000 and len(items[1]["chain_hash"]) == 64
    assert items[1]["actor"] and items[1]["occurred_at"] < items[1]["recorded_at"]
    forbidden = await client.get(f"/v1/cases/{case_id}/history", headers=keys["agent"])
    assert_problem(forbidden, 403, "forbidden")


async def test_a_backdated_payment_counts_as_of_last_month_but_was_not_known_then(client, keys):
    case_id = await _place(client, keys)
    before = datetime.now(UTC)
    await client.post(f"/v1/cases/{case_id}/payments",
                      json=payment(amount=5000, received_at=iso(NOW - timedelta(days=30))),
                      headers=keys["integration"])
    url = f"/v1/cases/{case_id}"
    as_of = (await client.get(url, params={"as_of": iso(NOW - timedelta(days=20))},
                              headers=keys["auditor"])).json()
    known = (await client.get(url, params={"as_known_at": iso(before)},
                              headers=keys["auditor"])).json()
    both = (await client.get(url, params={"as_of": iso(NOW - timedelta(days=20)),
                                          "as_known_at": iso(before)},
                             headers=keys["auditor"])).json()
    earlier = (await client.get(url, params={"as_of": iso(NOW - timedelta(days=40))},
                                headers=keys["auditor"])).json()
    assert as_of["paid_total"] == 5000 and as_of["version"] == 2
    assert known["paid_total"] == 0 and both["paid_total"] == 0 and earlier["paid_total"] == 0
    gone = await client.get(url, params={"as_of": iso(NOW - timedelta(days=90))},
                            headers=keys["auditor"])
    assert_problem(gone, 404, "not_found")
    naive = await client.get(url, params={"as_of": "2026-01-01T00:00:00"}, headers=keys["auditor"])
    assert_problem(naive, 422, "invalid_request")


SIGN = {"payment": -1, "waiver": -1, "reversal": 1, "adjustment": 1}


async def test_the_statement_balance_equals_the_case_balance_at_every_as_of(client, keys):
    case_id = await _place(client, keys)
    facts = [
        ("payments", payment("P1", amount=7000, received_at=iso(NOW - timedelta(days=10)))),
        ("payments", payment("P2", amount=2000, received_at=iso(NOW - timedelta(days=45)))),
        ("adjustments", {"kind": "interest", "amount": 1500, "reason": "monthly interest",
                         "occurred_at": iso(NOW - timedelta(days=35))}),
        ("adjustments", {"kind": "waiver", "amount": 900, "reason": "goodwill",
                         "occurred_at": iso(NOW - timedelta(days=20))}),
        ("payments/P1/reversal", {"reason": "bounced", "reversed_at": iso(NOW - timedelta(days=5))}),
    ]
    for route, body in facts:
        response = await client.post(f"/v1/cases/{case_id}/{route}", json=body,
                                     headers=keys["admin"])
        assert response.status_code in (200, 201), response.text
    for days in (59, 44, 30, 15, 7, 1):
        at = {"as_of": iso(NOW - timedelta(days=days))}
        statement = (await client.get(f"/v1/cases/{case_id}/statement", params=at,
                                      headers=keys["auditor"])).json()
        view = (await client.get(f"/v1/cases/{case_id}", params=at, headers=keys["auditor"])).json()
        assert statement["balance"] == view["balance"], days
        # The lines' allocations, in business time, add up to the view's components.
        for component in ("fees", "interest", "principal"):
            total = statement["placed"][component] + sum(
                SIGN[line["kind"]] * line["allocation"][component] for line in statement["lines"])
            assert total == view[component] >= 0, (days, component)
    final = (await client.get(f"/v1/cases/{case_id}/statement", headers=keys["auditor"])).json()
    assert [line["kind"] for line in final["lines"]] == [
        "payment", "adjustment", "waiver", "payment", "reversal"]
    # Allocated in business time: P2, received first though recorded second, pays fees.
    assert final["lines"][0]["allocation"] == {"fees": 2000, "interest": 0, "principal": 0, "credit": 0}
    assert final["lines"][3]["allocation"] == {"fees": 1900, "interest": 5100, "principal": 0,
                                               "credit": 0}
    assert final["placed"] == {"principal": 250000, "interest": 31250, "fees": 3900}
    current = (await client.get(f"/v1/cases/{case_id}", headers=keys["auditor"])).json()
    assert final["balance"] == current["balance"] == 285150 - 2000 + 1500 - 900
    refused = await client.get(f"/v1/cases/{case_id}/statement", headers=keys["supervisor"])
    assert_problem(refused, 403, "forbidden")


async def test_erasure_hides_personal_data_everywhere_and_verify_still_passes(client, keys):
    case_id = await _place(client, keys)
    assert (await client.get(f"/v1/cases/{case_id}/verify",
                             headers=keys["auditor"])).json()["ok"] is True
    refused = await client.post(f"/v1/cases/{case_id}/erasure", json={"reason": "GDPR 17"},
                                headers=keys["supervisor"])
    assert_problem(refused, 403, "forbidden")
    erased = await client.post(f"/v1/cases/{case_id}/erasure", json={"reason": "GDPR art. 17"},
                               headers=keys["admin"])
    assert erased.status_code == 201 and erased.json()["erased"] is True
    view = (await client.get(f"/v1/cases/{case_id}", headers=keys["agent"])).json()
    assert view["debtor"]["name"] is None and view["debtor"]["erased"] is True
    assert view["balance"] == 285150 and view["debtor"]["timezone"] == "America/Chicago"
    history = (await client.get(f"/v1/cases/{case_id}/history", headers=keys["auditor"])).json()
    feed = (await client.get("/v1/events", params={"limit": 500}, headers=keys["auditor"])).json()
    assert "Ana Li" not in str(history) and "5551234567" not in str(history)
    assert "Ana Li" not in str(feed) and "5551234567" not in str(feed)
    assert history["items"][0]["data"]["debtor"]["erased"] is True
    assert history["items"][-1]["type"] == "PersonalDataErased"
    report = (await client.get(f"/v1/cases/{case_id}/verify", headers=keys["auditor"])).json()
    assert {k: report[k] for k in ("ok", "events_checked", "first_bad_version")} == {
        "ok": True, "events_checked": 2, "first_bad_version": None}
    again = await client.post(f"/v1/cases/{case_id}/erasure", json={"reason": "again"},
                              headers=keys["admin"])
    assert_problem(again, 409, "already_erased")
    missing_reason = await client.post(f"/v1/cases/{case_id}/erasure", json={},
                                       headers=keys["admin"])
    assert_problem(missing_reason, 422, "invalid_request")
