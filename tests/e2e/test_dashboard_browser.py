"""The dashboard and the API docs in a real browser (Debian's headless ``chromium``).

Signs in, opens every page at laptop and phone sizes with the demo portfolio, and checks: no
console error, no failed request, nothing asked of another origin (outside hosts do not even
resolve), no page wider than the screen, and every figure on the page equal to what the JSON
metric routes answer for the same filters. Screenshots go to a temporary folder (or to
``LEDGER_SCREENSHOT_DIR``).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import BINARY, Chromium
from processes import bearer, make_key, migrated_database, run_ledger, serving
from test_readme import _wait_caught_up

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
TABLES_JS = """[...document.querySelectorAll('table[data-table]')].map(t => ({
  name: t.dataset.table,
  rows: [...t.tBodies[0].rows].filter(r => r.cells[0].dataset.key).map(r =>
    Object.fromEntries([...r.cells].map(c => [c.dataset.key, c.dataset.value])))}))"""

pytestmark = pytest.mark.skipif(BINARY is None, reason="chromium is not installed "
                                "(apt-get install -y chromium); the browser test needs it")


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _same(rows: list[dict[str, str]], items: list[dict[str, Any]], what: str) -> None:
    assert len(rows) == len(items), what
    for row, item in zip(rows, items, strict=True):
        for key, shown in row.items():
            assert shown == _as_text(item[key]), (what, key, row, item)


def _expected(base: str, key: str, page: str, query: dict[str, str],
              tables: dict[str, list[dict[str, str]]]) -> None:
    """Each table equals the JSON route it comes from, asked with the same filters."""
    def get(path: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{base}{path}", params=params, headers=bearer(key), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    period = {k: v for k, v in query.items() if k in ("from", "to")}
    if page == "":
        for group in ("portfolio", "cohort"):
            _same(tables[f"recovery-{group}"],
                  get("/v1/metrics/recovery", group_by=group, **period)["items"], group)
        assert tables["projection-lag"], "lag table"
    elif page == "liquidation":
        cohorts = sorted({row["cohort"] for row in tables["liquidation"]})
        assert cohorts, "the demo has cohorts"
        for cohort in cohorts:
            rows = [r for r in tables["liquidation"] if r["cohort"] == cohort]
            items = [{"cohort": cohort, **i}
                     for i in get("/v1/metrics/liquidation", cohort=cohort)["items"]]
            _same(rows, items, cohort)
    elif page in ("promises", "contacts"):
        for group in (("agent", "portfolio") if page == "promises" else ("channel", "agent")):
            _same(tables[f"{page}-{group}"],
                  get(f"/v1/metrics/{page}", group_by=group, **period)["items"], group)
    elif page == "roll-rates":
        items = get("/v1/metrics/roll-rates", month=query["month"])["items"]
        _same(tables["roll-rates"], items, "roll rates")
        buckets = [i["group"] for i in items]
        for row, item in zip(tables["roll-matrix"], items, strict=True):
            landed = buckets[min(buckets.index(item["group"]) + 1, len(buckets) - 1)]
            assert (row["group"], int(row["cases"]), int(row[landed]), int(row["cured"])) == (
                item["group"], item["cases"], item["rolled"], item["cured"]), row
            assert sum(int(row[o]) for o in [*buckets, "cured", "closed"]) == item["cases"]
    elif page == "arms":
        for table, route in (("recovery-arm", "recovery"), ("promises-arm", "promises"),
                             ("contacts-arm", "contacts")):
            _same(tables[table], get(f"/v1/metrics/{route}", group_by="arm", **period)["items"],
                  table)
        _same(tables["recovery-segment"],
              get("/v1/metrics/recovery", group_by="segment", **period)["items"], "segments")
        assert {r["group"] for r in tables["recovery-arm"]} >= {"champion"}, "demo strategy"
    elif page == "complaints":
        for group in ("category", "root_cause", "agent"):
            items = get("/v1/metrics/complaints", group_by=group, **period)["items"]
            _same(tables[f"complaints-{group.replace('_', '-')}"], items, group)
    elif page == "breaches":
        listed = get("/v1/compliance/breaches", limit="500",
                     **{k: f"{v}T00:00:00Z" for k, v in period.items()})["items"]
        assert sum(int(r["breaches"]) for r in tables["breaches-rule"]) == len(listed)
        shown = [(r["rule"], r["case_id"]) for r in tables["breaches-list"]]
        assert shown == [(i["rule"], i["case_id"]) for i in listed[:len(shown)]]


@pytest.fixture(scope="module")
async def demo_server(make_database):
    url = await migrated_database(make_database)
    done = run_ledger(url, "demo", "--cases", "150", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    key = await make_key(url, "default", "supervisor")
    with serving(url) as server:
        _wait_caught_up(server.base)
        yield server.base, key


@pytest.fixture
def chromium():
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


def test_every_dashboard_page_loads_cleanly_at_both_sizes_with_the_api_figures(
        demo_server, chromium, tmp_path):
    base, key = demo_server
    shots = Path(os.environ.get("LEDGER_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=200)).isoformat(),
              "to": (today + timedelta(days=1)).isoformat()}
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    pages = {"": period, "liquidation": period, "promises": period, "contacts": period,
             "roll-rates": {"month": month}, "breaches": period, "arms": period,
             "complaints": period}

    chromium.open(f"{base}/dashboard/sign-in")
    chromium.evaluate(f"document.getElementById('api_key').value = {key!r};"
                      "document.querySelector('form.sign-in').requestSubmit(); true")
    chromium.wait_until("location.pathname === '/dashboard' && !!document.querySelector('h1')")
    assert chromium.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read it
    for size, (width, height) in SIZES.items():
        chromium.viewport(width, height)
        for page, query in pages.items():
            since = len(chromium.events)
            search = "&".join(f"{k}={v}" for k, v in query.items())
            chromium.open(f"{base}/dashboard{'/' + page if page else ''}?{search}")
            assert chromium.problems(base, since) == [], (size, page)
            assert chromium.evaluate("document.querySelector('h1').textContent"), page
            assert chromium.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"), (size, page)
            assert chromium.evaluate(
                "[...document.querySelectorAll('svg[role=img]')].every(s => "
                "s.querySelector('title') && s.querySelector('desc'))"), page
            png = shots / f"dashboard-{page or 'recovery'}-{size}.png"
            assert chromium.screenshot(png) > 10_000, png
            if size == "laptop":
                tables = {t["name"]: t["rows"] for t in chromium.evaluate(TABLES_JS)}
                _expected(base, key, page, query, tables)
    target = os.environ.get("LEDGER_DASHBOARD_SCREENSHOT")
    if target:  # refresh the screenshot committed under docs/
        shutil.copy(shots / "dashboard-recovery-laptop.png", target)


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_api_docs_render_with_no_network_beyond_our_own_origin(demo_server, chromium, path):
    base, _ = demo_server
    since = len(chromium.events)
    chromium.open(f"{base}{path}")
    chromium.wait_until("document.querySelectorAll('.opblock').length > 20")
    assert chromium.problems(base, since) == []
    title = chromium.evaluate("document.querySelector('.title') && "
                              "document.querySelector('.title').textContent")
    assert title and title.startswith("Ledger")
