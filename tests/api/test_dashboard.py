"""``/dashboard``: sign-in with a key, a signed HttpOnly SameSite=Strict session, CSRF-safe
sign-out, every page rendered, every table as CSV with the figures of ``/v1/metrics``."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest

from ledger.api.csv_export import cell

from ledger.services.keys import revoke_key

from test_metric_periods_and_csv import portfolio  # noqa: F401  (fixture)

PAGES = ["", "/liquidation", "/promises", "/contacts", "/roll-rates", "/breaches", "/arms",
         "/complaints"]


def _bare(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _sign_in(client, key: str, **headers: str):
    return await client.post("/dashboard/sign-in", data={"api_key": key}, headers=headers,
                             follow_redirects=False)


@pytest.fixture
async def signed_in(client, keys):
    client.cookies.clear()
    response = await _sign_in(client, _bare(keys["supervisor"]))
    assert response.status_code == 303, response.text
    yield client
    client.cookies.clear()


async def test_without_a_session_every_page_sends_you_to_sign_in(client):
    client.cookies.clear()
    for page in PAGES:
        response = await client.get(f"/dashboard{page}", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/dashboard/sign-in"
    form = await client.get("/dashboard/sign-in")
    assert form.status_code == 200 and "<h1>Sign in to the Ledger dashboard</h1>" in form.text
    assert "default-src 'self'" in form.headers["content-security-policy"]


async def test_a_key_that_may_read_reports_gets_a_signed_strict_httponly_cookie(client, keys):
    client.cookies.clear()
    key = _bare(keys["analyst"])
    response = await _sign_in(client, key)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ledger_dashboard=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/dashboard"):
        assert attribute.lower() in cookie.lower(), cookie
    assert key not in cookie and key.split("_", 2)[2] not in cookie  # no secret (it may hold "_")
    page = await client.get("/dashboard")
    assert page.status_code == 200 and "<h1>Recovery</h1>" in page.text
    client.cookies.clear()


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("integration", 403)])
async def test_keys_of_other_roles_and_unknown_keys_are_refused(client, keys, role, status):
    client.cookies.clear()
    refused = await _sign_in(client, _bare(keys[role]))
    assert refused.status_code == status and "set-cookie" not in refused.headers
    unknown = await _sign_in(client, "lk_nope_nope")
    assert unknown.status_code == 401 and "unknown or revoked" in unknown.text


async def test_a_sign_in_posted_from_another_site_is_refused(client, keys):
    client.cookies.clear()
    response = await _sign_in(client, _bare(keys["admin"]), origin="https://evil.example")
    assert response.status_code == 403 and "set-cookie" not in response.headers


async def test_every_page_renders_accessible_tables_with_a_csv_of_each(signed_in, portfolio):  # noqa: F811
    for page in PAGES:
        response = await signed_in.get(f"/dashboard{page}?from=2020-01-01")
        assert response.status_code == 200, (page, response.text[:500])
        html = response.text
        assert re.search(r"<h1>[^<]+</h1>", html) and '<html lang="en">' in html
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html and "<script" not in html and "style=" not in html
        names = re.findall(r'data-table="([^"]+)"', html)
        assert names, page
        assert html.count("<th scope=\"col\"") >= len(names)
        for name in names:
            download = await signed_in.get(f"/dashboard{page}?from=2020-01-01&csv={name}")
            assert download.status_code == 200 and download.headers["content-type"].startswith(
                "text/csv"), (page, name)
            rows = list(csv.reader(io.StringIO(download.text)))
            cells = re.findall(r'data-value="([^"]*)"', html.split(f'data-table="{name}"')[1]
                               .split("</table>")[0])
            # The CSV holds the raw values the page shows (formulas defused for spreadsheets).
            assert [c for row in rows[1:] for c in row] == [str(cell(unescape(c)))
                                                             for c in cells], (page, name)
    svg = (await signed_in.get("/dashboard?from=2020-01-01")).text
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg


async def test_the_recovery_table_equals_the_metrics_route(signed_in, keys, portfolio):  # noqa: F811
    html = (await signed_in.get("/dashboard?from=2020-01-01&to=2099-01-01")).text
    api = (await signed_in.get("/v1/metrics/recovery?group_by=portfolio&from=2020-01-01"
                               "&to=2099-01-01", headers=keys["analyst"])).json()
    table = html.split('data-table="recovery-portfolio"')[1].split("</table>")[0]
    groups = re.findall(r'data-key="group" data-value="([^"]*)"', table)
    recovered = re.findall(r'data-key="recovered_amount" data-value="([^"]*)"', table)
    assert [unescape(g) for g in groups] == [i["group"] for i in api["items"]]
    assert recovered == [str(i["recovered_amount"]) for i in api["items"]]


async def test_sign_out_needs_the_csrf_token_and_then_ends_the_session(signed_in):
    page = (await signed_in.get("/dashboard")).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    forged = await signed_in.post("/dashboard/sign-out", data={"csrf": "guess"},
                                  follow_redirects=False)
    assert forged.status_code == 403
    cross = await signed_in.post("/dashboard/sign-out", data={"csrf": token},
                                 headers={"origin": "https://evil.example"},
                                 follow_redirects=False)
    assert cross.status_code == 403
    out = await signed_in.post("/dashboard/sign-out", data={"csrf": token},
                               follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/sign-in"
    assert "max-age=0" in out.headers["set-cookie"].lower()
    signed_in.cookies.clear()
    assert (await signed_in.get("/dashboard", follow_redirects=False)).status_code == 303


async def test_a_revoked_key_or_a_tampered_cookie_ends_the_session(client, keys, pool, tenant):
    client.cookies.clear()
    key = _bare(keys["auditor"])
    assert (await _sign_in(client, key)).status_code == 303
    value = client.cookies.get("ledger_dashboard")
    client.cookies.clear()
    client.cookies.set("ledger_dashboard", value[:-3] + "AAA", path="/dashboard")
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303
    client.cookies.clear()
    client.cookies.set("ledger_dashboard", value, path="/dashboard")
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 200
    await revoke_key(pool, key.split("_")[1])
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303
    client.cookies.clear()


async def test_bad_filters_and_unknown_pages_or_tables_are_client_errors(signed_in):
    bad = await signed_in.get("/dashboard/promises?from=2026-01-01T10:00:00")
    assert bad.status_code == 422 and "from" in bad.text
    assert (await signed_in.get("/dashboard/nowhere")).status_code == 404
    assert (await signed_in.get("/dashboard?csv=nothing")).status_code == 404
    assert (await signed_in.get("/dashboard/roll-rates?month=2026-13")).status_code == 422


async def test_analysts_and_auditors_see_no_breach_report(client, keys):
    for role, article in (("analyst", "an"), ("auditor", "an")):  # API.md's role table
        client.cookies.clear()
        await _sign_in(client, _bare(keys[role]))
        page = await client.get("/dashboard/breaches")
        assert page.status_code == 200 and "Not available" in page.text
        assert f"{article} {role} key does not include it" in page.text
        assert "data-table" not in page.text
    client.cookies.clear()
