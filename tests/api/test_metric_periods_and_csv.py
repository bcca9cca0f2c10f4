"""Metric routes take ``from``/``to`` as a date or an RFC 3339 time, and answer CSV on request."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api_helpers import ago, assert_problem, payment, placement
from test_queries import _caught_up, _place

ROUTES = ["/v1/metrics/recovery?group_by=portfolio", "/v1/metrics/recovery?group_by=cohort",
          "/v1/metrics/recovery?group_by=agent", "/v1/metrics/recovery?group_by=channel",
          "/v1/metrics/promises?group_by=agent", "/v1/metrics/promises?group_by=portfolio",
          "/v1/metrics/contacts?group_by=agent", "/v1/metrics/contacts?group_by=channel",
          "/v1/metrics/recovery?group_by=arm", "/v1/metrics/complaints?group_by=category",
          "/v1/metrics/complaints?group_by=agent", "/v1/metrics/approvals?group_by=decision"]
MONTHLY = ["/v1/metrics/liquidation?cohort=2026-01", "/v1/metrics/roll-rates?month=2026-01"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
async def portfolio(client, keys):
    """One case placed two hours ago with a payment, a contact and a promise, projected."""
    case = await _place(client, keys, portfolio="=HYPERLINK(\"x\")", placed_at=ago(hours=2))
    cid = case["case_id"]
    for path, body, role in [
        ("contacts", {"channel": "phone", "direction": "outbound", "outcome": "right_party",
                      "occurred_at": ago(hours=1), "agent_id": "ann"}, "agent"),
        ("payments", payment(amount=12_345), "integration"),
        ("complaints", {"category": "=fees", "received_at": ago(minutes=20), "channel": "phone",
                        "summary": "charged twice"}, "agent"),
        ("promises", {"amount": 1000, "due_date": (datetime.now(UTC) + timedelta(days=3))
                      .date().isoformat(), "made_at": ago(minutes=30), "agent_id": "ann"},
         "agent"),
    ]:
        response = await client.post(f"/v1/cases/{cid}/{path}", json=body, headers=keys[role])
        assert response.status_code == 201, response.text
    await _caught_up(client)
    return case


async def test_a_period_given_as_times_counts_what_lies_between_them(client, keys, portfolio):
    placed = datetime.fromisoformat(portfolio["placed_at"])
    before, after = placed - timedelta(minutes=1), placed + timedelta(minutes=1)
    url = "/v1/metrics/recovery?group_by=portfolio&from={}&to={}"
    around = await client.get(url.format(before.isoformat().replace("+00:00", "Z"),
                                         after.isoformat().replace("+00:00", "Z")),
                              headers=keys["analyst"])
    assert around.status_code == 200, around.text
    assert [(i["cases"], i["recovered_amount"]) for i in around.json()["items"]] == [(1, 12_345)]
    # An offset other than Z names the same instants.
    east = timezone(timedelta(hours=5, minutes=30))
    shifted = await client.get(url.format(before.astimezone(east).isoformat().replace("+", "%2B"),
                                          after.astimezone(east).isoformat().replace("+", "%2B")),
                               headers=keys["analyst"])
    assert shifted.json()["items"] == around.json()["items"]
    later = await client.get(url.format(after.isoformat().replace("+", "%2B"),
                                        (after + timedelta(hours=1)).isoformat()
                                        .replace("+", "%2B")), headers=keys["analyst"])
    assert later.json()["items"] == []
    day = placed.date()
    by_day = await client.get(url.format(day.isoformat(), (day + timedelta(days=1)).isoformat()),
                              headers=keys["analyst"])
    assert by_day.json()["items"] == around.json()["items"]


@pytest.mark.parametrize("route", ROUTES)
async def test_every_period_route_takes_dates_and_times(client, keys, route):
    for start, end in [("2026-01-01", "2026-02-01"),
                       ("2026-01-01T00:00:00Z", "2026-02-01T12:30:00.123456789+02:00")]:
        response = await client.get(f"{route}&from={start}&to={end.replace('+', '%2B')}",
                                    headers=keys["analyst"])
        assert response.status_code == 200, (route, start, response.text)


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-01-01T10:00:00", "from"), ("to=yesterday", "to"), ("from=1767225600", "from"),
    ("from=2026-02-30", "from"),
])
async def test_a_bad_or_naive_from_or_to_is_a_422_naming_it(client, keys, query, field):
    for route in ("/v1/metrics/recovery?group_by=agent", "/v1/metrics/contacts?group_by=agent"):
        body = assert_problem(await client.get(f"{route}&{query}", headers=keys["analyst"]),
                              422, "invalid_request")
        assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("route", ROUTES + MONTHLY)
async def test_every_metric_route_answers_csv_with_the_same_figures(client, keys, portfolio,
                                                                    route):
    as_json = (await client.get(route, headers=keys["analyst"])).json()
    response = await client.get(route, headers={**keys["analyst"], "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # once
    assert response.headers["ledger-as-of-position"] == str(as_json["as_of_position"])
    rows = _rows(response.text)
    assert len(rows) == len(as_json["items"])
    for row, item in zip(rows, as_json["items"], strict=True):
        assert list(row) == list(item)
        for name, value in item.items():
            if isinstance(value, str) and value.startswith("="):
                assert row[name] == "'" + value  # never a live spreadsheet formula
            else:
                assert row[name] == ("" if value is None else str(value)), (name, row)


async def test_json_stays_the_default_for_any_other_accept_header(client, keys):
    for accept in ("*/*", "application/json", "application/json, text/csv;q=0.5"):
        response = await client.get(ROUTES[0], headers={**keys["analyst"], "Accept": accept})
        assert response.headers["content-type"].startswith("application/json"), accept
