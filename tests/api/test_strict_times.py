"""Times in requests are RFC 3339 with an offset: numbers and naive times are 422, nothing stored.

The last test guards every route, including ones added later: a request field or query
parameter typed as a bare ``datetime`` is decoded leniently by litestar (a number becomes a
Unix time), so each must use ``ledger.api.schemas.times.Instant``.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from ledger.api.schemas.times import Instant, parse_instant

from api_helpers import assert_problem, payment, placement


def _field_named(response, field: str) -> None:
    body = assert_problem(response, 422, "invalid_request")
    assert field in [error["field"] for error in body["errors"]], body


@pytest.mark.parametrize("value", [
    1733097600, 1733097600.5, 0.5, "1733097600", "0.5", True,
    "2026-10-01T15:00:00", "2026-10-01 15:00:00", "2026-10-01", "15:00:00Z",
    "2026-10-01T15:00Z", "2026-10-01T15:00:00+0200", "2026-10-01T15:00:00+02", "",
    "2026-13-01T15:00:00Z", "2026-10-01T25:00:00Z", "2026-10-01T15:00:00 Z",
])
async def test_a_payment_time_that_is_not_rfc_3339_with_an_offset_is_refused(
        client, keys, case, value):
    url = f"/v1/cases/{case['case_id']}/payments"
    response = await client.post(url, json=payment(received_at=value), headers=keys["integration"])
    _field_named(response, "received_at")
    view = (await client.get(f"/v1/cases/{case['case_id']}", headers=keys["agent"])).json()
    assert (view["version"], view["paid_total"]) == (case["version"], 0)


async def test_a_placement_time_given_as_a_number_is_refused_and_nothing_is_placed(client, keys):
    body = placement(placed_at=1700000000)
    _field_named(await client.post("/v1/cases", json=body, headers=keys["integration"]),
                 "placed_at")
    found = await client.get(f"/v1/cases/by-ref/{body['external_ref']}", headers=keys["agent"])
    assert found.status_code == 404


@pytest.mark.parametrize("value", ["0.5", "1733097600", "2026-10-01T15:00:00", "2026-10-01"])
async def test_time_query_parameters_refuse_numbers_and_naive_times(client, keys, case, value):
    case_url = f"/v1/cases/{case['case_id']}"
    for url, name in [(f"{case_url}/contact-permission", "at"), (case_url, "as_of"),
                      (case_url, "as_known_at"), ("/v1/compliance/breaches", "from"),
                      ("/v1/audit", "to")]:
        response = await client.get(url, params={name: value}, headers=keys["admin"])
        _field_named(response, name)


@pytest.mark.parametrize("value", [
    "2026-10-01T15:00:00Z", "2026-10-01T15:00:00.123456Z", "2026-10-01t15:00:00z",
    "2026-10-01T10:30:00-04:30", "2026-10-01 15:00:00+00:00", "2026-10-01T15:00:00.5+14:00",
])
async def test_every_rfc_3339_form_with_an_offset_is_accepted(client, keys, case, value):
    url = f"/v1/cases/{case['case_id']}"
    permission = await client.get(f"{url}/contact-permission", params={"at": value},
                                  headers=keys["agent"])
    assert permission.status_code == 200, permission.text
    back = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    response = await client.post(f"{url}/payments", json=payment(received_at=back),
                                 headers=keys["integration"])
    assert response.status_code == 201, response.text


def test_the_parser_returns_plain_aware_datetimes_with_the_offset_given():
    parsed = parse_instant("2026-10-01T10:30:00.25-04:30")
    assert type(parsed) is datetime
    assert parsed.utcoffset() == -timedelta(hours=4, minutes=30)
    assert parsed == datetime(2026, 10, 1, 15, 0, 0, 250000, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_instant(1733097600)


def _bare_datetimes(annotation: object, seen: set[int]) -> list[str]:
    """Where ``annotation`` (recursively, through Structs) holds ``datetime`` but not Instant."""
    if id(annotation) in seen:
        return []
    seen.add(id(annotation))
    if annotation is datetime:
        return ["datetime"]
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        hints = typing.get_type_hints(annotation, include_extras=True)
        return [f"{annotation.__name__}.{name}: {found}" for name, hint in hints.items()
                for found in _bare_datetimes(hint, seen)]
    found: list[str] = []
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for argument in typing.get_args(annotation):
            found += _bare_datetimes(argument, seen)
    return found


def test_no_route_takes_a_time_without_the_strict_type(app):
    offenders = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for name, parameter in handler.parsed_fn_signature.parameters.items():
                if name in ("request", "self"):
                    continue
                for found in _bare_datetimes(parameter.raw, set()):
                    offenders.append(f"{handler.handler_name}({name}) → {found}")
    assert not offenders, (
        "these request fields or query parameters are bare `datetime`, which litestar decodes "
        "leniently (numbers become Unix times); use `ledger.api.schemas.times.Instant`:\n  "
        + "\n  ".join(sorted(set(offenders))))
    assert Instant is not datetime


async def test_bodies_are_decoded_strictly_no_strings_for_numbers_no_numbers_for_booleans(
        client, keys, case):
    url = f"/v1/cases/{case['case_id']}"
    response = await client.post(f"{url}/payments", json=payment(amount="100"),
                                 headers=keys["integration"])
    _field_named(response, "amount")
    arrangement = {"kind": "installments", "agreed_at": "2026-01-01T00:00:00Z",
                   "installments": [{"due_date": "2099-01-01", "amount": 1000}], "waive_interest": 1}
    _field_named(await client.post(f"{url}/arrangements", json=arrangement,
                                   headers=keys["supervisor"]), "waive_interest")
    view = (await client.get(url, headers=keys["agent"])).json()
    assert view["version"] == case["version"]
    ok = await client.post(f"{url}/payments", json=payment(amount=100), headers=keys["integration"])
    assert ok.status_code == 201, ok.text
    # 100.0 is an integer to JSON Schema, so a document-following client may send it.
    whole = await client.post(f"{url}/payments", json=payment(amount=100.0),
                              headers=keys["integration"])
    assert whole.status_code == 201, whole.text
    _field_named(await client.post(f"{url}/payments", json=payment(amount=100.5),
                                   headers=keys["integration"]), "amount")
