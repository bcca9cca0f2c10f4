"""Hostile input against a live server: every POST route, every hostile kind; then schemathesis.

For each POST route that takes JSON (the list comes from the live OpenAPI document) a valid
body is made hostile one way at a time: oversized, deeply nested, invalid UTF-8, huge integers,
negative amounts, NUL characters and SQL metacharacters in each string field. Each must get a
clear 4xx problem document and store nothing (the tenant's event count is unchanged), or — for metacharacters
in free text — be stored verbatim with every table intact. No 5xx, ever.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from processes import (MESSAGE_TEMPLATE, VALID_BODIES, WEBHOOK_ENV, bearer, fetchval, make_key,
                       migrated_database, payment, place_cases, placement, serving, sized)

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SQL = "x'); DROP TABLE stored_events; -- \" ; SELECT pg_sleep(5); /* \\ %_"
HUGE = 10**40
EXAMPLES_PER_ROUTE = sized(10, 200)
MAX_FUZZ_WAIT = 0.5


def _integers(body: Any, value: int) -> list[Any]:
    """Copies of ``body`` with one integer field (anywhere) replaced by ``value``."""
    found = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, bool):
            return
        if isinstance(node, int):
            found.append(path)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(body, ())
    return [_replaced(body, path, value) for path in found]


def _strings(body: Any, value: str = SQL) -> list[tuple[tuple[Any, ...], Any]]:
    """Copies of ``body`` with one string field (anywhere) replaced by ``value``."""
    found = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, str):
            found.append((path, _replaced(body, path, value)))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(body, ())
    return found


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def _hostile_bodies(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    raw = json.dumps(body).encode()
    first = next(iter(body))
    kinds = [
        ("oversized", json.dumps({**body, "padding": "x" * (2 * 1024 * 1024)}).encode()),
        ("nested array", b"[" * 200_000 + b"]" * 200_000),
        ("nested in a field", json.dumps(body)[:-1].encode() + b', "deep": ' + b"[" * 100_000
         + b"]" * 100_000 + b"}"),
        ("nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("invalid utf-8", raw.replace(b'"' + first.encode() + b'"', b'"\xff\xfe' + first.encode() + b'"', 1)),
        ("invalid utf-8 in a value", raw[:-1] + b', "note": "\xc3\x28\xa0\xa1"}'),
        ("huge integer in place of a field", json.dumps({**body, first: HUGE}).encode()),
        ("not json", b"{'single': 'quotes'}"),
    ]
    kinds += [("huge integer", json.dumps(b).encode()) for b in _integers(body, HUGE)]
    kinds += [("negative amount", json.dumps(b).encode()) for b in _integers(body, -100)]
    # PostgreSQL text cannot hold U+0000: accepted, it would stop the read models.
    kinds += [(f"NUL in {path}", json.dumps(b).encode()) for path, b in _strings(body, "nul\u0000")]
    return kinds


async def test_every_hostile_body_on_every_post_route_gets_a_clear_4xx_and_stores_nothing(make_database):
    url = await migrated_database(make_database)
    tenant = f"hostile-{uuid.uuid4().hex[:6]}"
    admin = await make_key(url, tenant, "admin")
    with (serving(url, **WEBHOOK_ENV) as server,
          httpx.Client(base_url=server.base, timeout=60, headers=bearer(admin)) as http):
        doc = http.get("/schema/openapi.json").json()
        routes = sorted(path for path, ops in doc["paths"].items() if "post" in ops and
                        "application/json" in ops["post"].get("requestBody", {}).get("content", {}))
        assert set(routes) == {p for m, p in VALID_BODIES if m == "POST"}, "VALID_BODIES is out of date"
        # A debtor with a phone, a saved template and strategy: the valid bodies are valid.
        debtor = {**placement("x")["debtor"], "phones": ["+15550100123"]}
        placed = http.post("/v1/cases", json=placement(f"H-{tenant}-0", debtor=debtor))
        assert placed.status_code == 201, placed.text
        case = placed.json()["case_id"]
        assert http.post("/v1/templates", json=VALID_BODIES[("POST", "/v1/templates")]()).status_code == 201
        message = http.post(f"/v1/cases/{case}/messages", json={"template": MESSAGE_TEMPLATE})
        assert message.status_code == 201, message.text
        strategy = http.post("/v1/strategies", json=VALID_BODIES[("POST", "/v1/strategies")]())
        assert strategy.status_code == 201, strategy.text
        assert http.post(f"/v1/cases/{case}/payments", json=payment("P-H")).status_code == 201
        dispute = http.post(f"/v1/cases/{case}/disputes", json=VALID_BODIES[("POST", "/v1/cases/{case_id}/disputes")]())
        hold = http.post(f"/v1/cases/{case}/holds", json=VALID_BODIES[("POST", "/v1/cases/{case_id}/holds")]())
        complaint = http.post(f"/v1/cases/{case}/complaints",
                              json=VALID_BODIES[("POST", "/v1/cases/{case_id}/complaints")]())
        ids = {"{case_id}": case, "{external_id}": "P-H", "{dispute_id}": dispute.json()["dispute_id"],
               "{hold_id}": hold.json()["hold_id"], "{complaint_id}": complaint.json()["complaint_id"],
               "{approval_id}": str(uuid.uuid4()), "{message_id}": message.json()["message_id"],
               "{strategy_id}": strategy.json()["strategy_id"], "{name}": MESSAGE_TEMPLATE}

        async def stored() -> int:
            # What requests stored: the background workers' own facts (actor ``system:…``,
            # e.g. the sender failing the queued message once the dispute blocks it, a minute
            # after its first try) may land during any request and are not its doing.
            return int(await fetchval(url, "SELECT count(*) FROM stored_events WHERE tenant_id = $1 "
                                           "AND coalesce(actor, '') NOT LIKE 'system:%'", tenant))

        problems: list[str] = []
        tried = 0
        for template in routes:
            path = template
            for name, value in ids.items():
                path = path.replace(name, value)
            body = VALID_BODIES[("POST", template)]()
            for kind, content in _hostile_bodies(body):
                before = await stored()
                response = http.post(path, content=content, headers={"Content-Type": "application/json"})
                tried += 1
                after = await stored()
                status = response.status_code
                if not 400 <= status < 500:
                    problems.append(f"{template} {kind}: {status} {response.text[:200]}")
                elif not response.headers.get("content-type", "").startswith("application/problem+json"):
                    problems.append(f"{template} {kind}: {status} is not a problem document")
                if after != before:
                    problems.append(f"{template} {kind}: stored {after - before} events")
            for field, hostile in _strings(body):
                before = await stored()
                response = http.post(path, json=hostile)
                tried += 1
                after = await stored()
                if response.status_code >= 500:
                    problems.append(f"{template} SQL in {field}: {response.status_code}")
                elif response.status_code >= 400 and after != before:
                    problems.append(f"{template} SQL in {field}: refused but stored")
        # The metacharacters were data, never SQL: every table is still there and answering.
        assert await fetchval(url, "SELECT count(*) FROM stored_events") > 0
        assert http.get(f"/v1/cases/{case}").status_code == 200
        print(f"\nhostile: {tried} hostile requests on {len(routes)} POST routes")
        assert problems == [], "\n".join(problems)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):  # type: ignore[no-untyped-def]
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


async def test_the_schemathesis_run_against_a_live_server_finds_no_server_error_and_no_schema_violation(make_database):
    url = await migrated_database(make_database)
    tenant = f"fuzz-{uuid.uuid4().hex[:6]}"
    admin = await make_key(url, tenant, "admin")
    with serving(url) as server:
        place_cases(server.base, admin, f"FZ-{tenant}", 3)
        schema = schemathesis.openapi.from_url(server.base + "/schema/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 30
        failures: list[str] = []
        calls = [0]
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None,
                      suppress_health_check=list(HealthCheck), database=None)
            def check(case):  # type: ignore[no-untyped-def]
                query = case.query or {}
                try:
                    if float(query.get("wait", 0)) > MAX_FUZZ_WAIT:
                        query["wait"] = MAX_FUZZ_WAIT
                except (TypeError, ValueError):
                    pass
                calls[0] += 1
                case.call_and_validate(
                    base_url=server.base, headers=bearer(admin),
                    checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                            response_schema_conformance],
                )

            try:
                check()
            except Exception as error:  # every failing operation is reported, not just the first
                failures.append(f"{operation.method.upper()} {operation.path}: {error}"[:2000])
        print(f"\nschemathesis: {len(operations)} operations, {calls[0]} generated requests")
        assert failures == []
        log = server.output()
    assert "unhandled" not in log
