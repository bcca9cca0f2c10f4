"""Access: the tenant × role × route matrix, revocation across processes, key-check timing, 429.

All against real ``ledger serve`` processes. The route table (``processes.ROUTE_ROLES``) must
cover every /v1 operation the live server documents, so a new route cannot dodge the matrix.
"""

from __future__ import annotations

import statistics
import time
import uuid

import httpx
from processes import (ALL_ROLES, MESSAGE_TEMPLATE, QUERIES, ROUTE_ROLES, VALID_BODIES,
                       WEBHOOK_ENV, bearer, fetchval, make_key, migrated_database,
                       openapi_operations, place_cases, run_ledger, serving, sized)

TIMING_SAMPLES = sized(300, 2000)
# These tests make hundreds of failed key checks on purpose: the per-client limit on failed
# authentications (tests/e2e/test_security_abuse.py) is switched off for them.
UNLIMITED = {"LEDGER_AUTH_FAILURES_PER_MINUTE": "0"}
REVOCATION_BOUND = 0.25  # seconds


def _path(template: str, case_id: str) -> str:
    return (template.replace("{case_id}", case_id).replace("{external_ref}", "NO-SUCH-REF")
            .replace("{external_id}", "P-UNKNOWN").replace("{dispute_id}", str(uuid.uuid4()))
            .replace("{hold_id}", str(uuid.uuid4())).replace("{key_id}", "000000000000")
            .replace("{portfolio}", "cards-2026q3").replace("{approval_id}", str(uuid.uuid4()))
            .replace("{complaint_id}", str(uuid.uuid4())).replace("{model}", "bank-risk")
            .replace("{strategy_id}", str(uuid.uuid4())).replace("{name}", MESSAGE_TEMPLATE)
            .replace("{message_id}", str(uuid.uuid4())).replace("{endpoint_id}", str(uuid.uuid4()))
            .replace("{delivery_id}", str(uuid.uuid4())))


def _call(http: httpx.Client, method: str, template: str, case_id: str, key: str | None) -> httpx.Response:
    headers = bearer(key) if key else {}
    url = _path(template, case_id)
    if method == "GET":
        return http.get(url, params=QUERIES.get(template), headers=headers)
    if template == "/v1/cases/import":
        return http.post(url, content=b"", headers={**headers, "Content-Type": "application/x-ndjson"})
    body = VALID_BODIES.get((method, template))
    return http.request(method, url, json=body() if body else None, headers=headers)


async def test_every_role_of_every_tenant_gets_exactly_the_routes_it_may_use(make_database):
    url = await migrated_database(make_database)
    own, other = f"own-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    keys = {role: await make_key(url, own, role) for role in sorted(ALL_ROLES)}
    other_integration = await make_key(url, other, "integration")
    with serving(url, **WEBHOOK_ENV, **UNLIMITED) as server:
        assert openapi_operations(server.base) == set(ROUTE_ROLES), "ROUTE_ROLES is out of date"
        own_case = place_cases(server.base, keys["integration"], f"OWN-{own}", 1)[0]
        other_case = place_cases(server.base, other_integration, f"OTHER-{other}", 1)[0]
        other_events = await fetchval(url, "SELECT count(*) FROM stored_events WHERE tenant_id = $1", other)
        wrong: list[str] = []
        with httpx.Client(base_url=server.base, timeout=30) as http:
            for (method, template), roles in sorted(ROUTE_ROLES.items()):
                for key in (None, "lk_000000000000_" + "x" * 43):
                    status = _call(http, method, template, own_case, key).status_code
                    if status != 401:
                        wrong.append(f"{method} {template} without a valid key: {status}")
                for role, key in keys.items():
                    allowed = role == "admin" or role in roles
                    mine = _call(http, method, template, own_case, key)
                    if not allowed and mine.status_code != 403:
                        wrong.append(f"{role} {method} {template}: {mine.status_code}, expected 403")
                    if allowed and (mine.status_code in (401, 403) or mine.status_code >= 500):
                        wrong.append(f"{role} {method} {template}: {mine.status_code}")
                    if "{case_id}" in template:
                        theirs = _call(http, method, template, other_case, key).status_code
                        expected = 404 if allowed else 403
                        if theirs != expected:
                            wrong.append(f"{role} {method} {template} on another tenant's case: "
                                         f"{theirs}, expected {expected}")
        assert wrong == []
        # Nothing any of it did touched the other tenant.
        assert await fetchval(url, "SELECT count(*) FROM stored_events WHERE tenant_id = $1",
                              other) == other_events


async def test_a_key_revoked_from_another_process_is_refused_at_once_by_every_worker(make_database):
    url = await migrated_database(make_database)
    tenant = f"rev-{uuid.uuid4().hex[:6]}"
    admin = await make_key(url, tenant, "admin")
    with serving(url, "--workers", "2", **UNLIMITED) as server, \
            serving(url, **UNLIMITED) as other_server:
        latencies: list[float] = []
        with httpx.Client(timeout=10) as http:
            for round_ in range(4):
                victim = await make_key(url, tenant, "integration")
                key_id = victim.split("_")[1]
                # Warm every worker's cache with the key.
                for base in (server.base, other_server.base):
                    for _ in range(20):
                        assert http.get(f"{base}/v1/events", headers=bearer(victim)).status_code == 200
                if round_ % 2 == 0:  # the CLI, a process of its own
                    revoked = run_ledger(url, "keys", "revoke", key_id)
                    assert revoked.returncode == 0, revoked.stderr
                else:  # the API of another server process
                    response = http.post(f"{other_server.base}/v1/keys/{key_id}/revocation",
                                         headers=bearer(admin))
                    assert response.status_code == 200, response.text
                # The notification travels on its own connection, so "at once" is its delivery
                # time (milliseconds); the old per-process cache kept the key for up to 10 s.
                returned = time.monotonic()
                for base in (server.base, other_server.base):
                    while http.get(f"{base}/v1/events", headers=bearer(victim)).status_code != 401:
                        assert time.monotonic() - returned < REVOCATION_BOUND, "revoked key still works"
                        time.sleep(0.002)
                latencies.append(time.monotonic() - returned)
                refused = [http.get(f"{base}/v1/events", headers=bearer(victim)).status_code
                           for _ in range(20) for base in (server.base, other_server.base)]
                assert refused == [401] * len(refused)
    print(f"\nrevocation: refused everywhere {max(latencies) * 1e3:.0f} ms after revoking at most")


async def test_key_checks_take_the_same_time_for_a_real_key_prefix_and_a_random_one(make_database):
    url = await migrated_database(make_database)
    tenant = f"time-{uuid.uuid4().hex[:6]}"
    real = await make_key(url, tenant, "auditor")
    prefix = real[: real.index("_", 3) + 1]  # lk_<key id>_

    def candidate(with_real_prefix: bool) -> str:
        head = prefix if with_real_prefix else f"lk_{uuid.uuid4().hex[:12]}_"
        return head + uuid.uuid4().hex + uuid.uuid4().hex[:11]

    with serving(url, **UNLIMITED) as server, httpx.Client(timeout=10) as http:
        target = f"{server.base}/v1/keys"
        for _ in range(50):  # warm up connections and code paths
            http.get(target, headers=bearer(candidate(False)))
        samples: dict[bool, list[float]] = {True: [], False: []}
        for n in range(2 * TIMING_SAMPLES):
            kind = n % 2 == 0
            headers = bearer(candidate(kind))
            started = time.perf_counter()
            status = http.get(target, headers=headers).status_code
            samples[kind].append(time.perf_counter() - started)
            assert status == 401
    with_prefix, random_ = (statistics.median(samples[k]) for k in (True, False))
    print(f"\nkey check median: known prefix {with_prefix * 1e3:.3f} ms, random {random_ * 1e3:.3f} ms")
    assert abs(with_prefix - random_) <= max(0.0005, 0.15 * min(with_prefix, random_))


async def test_a_key_over_its_rate_gets_429_with_retry_after(make_database):
    url = await migrated_database(make_database)
    tenant = f"rate-{uuid.uuid4().hex[:6]}"
    slow = await make_key(url, tenant, "auditor", rate_limit=5)
    with serving(url) as server, httpx.Client(timeout=10) as http:
        statuses = []
        for _ in range(40):
            response = http.get(f"{server.base}/v1/keys", headers=bearer(slow))
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["code"] == "rate_limited"
                assert int(response.headers["Retry-After"]) >= 1
        assert statuses[:9] == [403] * 9  # a burst of two seconds' worth passes (then the guard says 403)
        assert statuses.count(429) >= 25
        time.sleep(1.2)  # tokens come back
        assert http.get(f"{server.base}/v1/keys", headers=bearer(slow)).status_code == 403

