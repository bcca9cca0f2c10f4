"""Contention: 32+ concurrent writers on one case and on many; no lost update, no deadlock.

Every request ends in a success or a clear conflict (``409 concurrency_conflict`` after the
client's bounded retries, or ``412 version_mismatch`` for a stale ``If-Match``); the stored
events and the case views account for every success and nothing else.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid

import httpx
from processes import (bearer, fetch, make_key, migrated_database, payment, place_cases, serving,
                       sized)

WRITERS = 32
PER_WRITER = sized(8, 40)
CLIENT_RETRIES = 5
DEADLINE_SECONDS = sized(120, 600)


def _hammer(base: str, key: str, cases: list[str]) -> tuple[dict[str, str], collections.Counter[str], float]:
    """WRITERS threads post PER_WRITER payments each, spread over ``cases``."""
    done: dict[str, str] = {}  # payment id -> case, for every acknowledged payment
    endings: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE_SECONDS

    def writer(w: int) -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(PER_WRITER):
                pid = f"PMT-{w:02d}-{n:03d}-{uuid.uuid4().hex[:6]}"
                case = cases[(w + n) % len(cases)]
                for attempt in range(CLIENT_RETRIES + 1):
                    if time.monotonic() > deadline:
                        return
                    response = http.post(f"{base}/v1/cases/{case}/payments", json=payment(pid),
                                         headers={**bearer(key), "Idempotency-Key": pid})
                    if response.status_code == 409 and response.json()["code"] == "concurrency_conflict":
                        assert response.headers["Retry-After"]
                        if attempt < CLIENT_RETRIES:
                            time.sleep(0.01 * (attempt + 1))
                            continue
                        with lock:
                            endings["409 concurrency_conflict"] += 1
                        break
                    with lock:
                        endings[str(response.status_code)] += 1
                        if response.status_code == 201:
                            done[pid] = case
                    break

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_SECONDS + 30)
    assert not any(t.is_alive() for t in threads), "writers stuck: deadlock?"
    return done, endings, time.monotonic() - started


async def _check_no_lost_update(url: str, base: str, key: str, tenant: str, done: dict[str, str],
                                cases: list[str]) -> None:
    rows = await fetch(url, "SELECT originator_id, count(*) AS n FROM stored_events WHERE tenant_id = $1 "
                       "AND topic LIKE '%PaymentReceived' GROUP BY originator_id", tenant)
    stored = {str(r["originator_id"]): r["n"] for r in rows}
    expected = collections.Counter(done.values())
    assert stored == dict(expected)
    with httpx.Client(timeout=10, headers=bearer(key)) as http:
        for case in cases:
            view = http.get(f"{base}/v1/cases/{case}").json()
            assert view["paid_total"] == 100 * expected[case]
            assert view["version"] == 1 + expected[case]  # placement + one event per payment
    waiting = await fetch(url, "SELECT count(*) AS n FROM pg_locks WHERE NOT granted")
    assert waiting[0]["n"] == 0


async def test_32_writers_on_one_case_lose_no_update_and_end_in_success_or_a_clear_conflict(make_database):
    url = await migrated_database(make_database)
    tenant = f"one-{uuid.uuid4().hex[:6]}"
    key = await make_key(url, tenant, "integration")
    with serving(url) as server:
        cases = place_cases(server.base, key, f"ONE-{tenant}", 1)
        done, endings, elapsed = _hammer(server.base, key, cases)
        print(f"\none case: {WRITERS} writers x {PER_WRITER}: {dict(endings)} in {elapsed:.1f} s")
        assert set(endings) <= {"201", "409 concurrency_conflict"}
        assert sum(endings.values()) == WRITERS * PER_WRITER
        assert endings["201"] >= WRITERS * PER_WRITER * 0.9
        await _check_no_lost_update(url, server.base, key, tenant, done, cases)


async def test_32_writers_on_many_cases_lose_no_update_and_do_not_deadlock(make_database):
    url = await migrated_database(make_database)
    tenant = f"many-{uuid.uuid4().hex[:6]}"
    key = await make_key(url, tenant, "integration")
    with serving(url) as server:
        cases = place_cases(server.base, key, f"MANY-{tenant}", 16)
        done, endings, elapsed = _hammer(server.base, key, cases)
        print(f"\nmany cases: {WRITERS} writers x {PER_WRITER} on 16 cases: {dict(endings)} in {elapsed:.1f} s")
        assert set(endings) <= {"201", "409 concurrency_conflict"}
        assert sum(endings.values()) == WRITERS * PER_WRITER
        await _check_no_lost_update(url, server.base, key, tenant, done, cases)


async def test_32_writers_with_if_match_each_win_a_distinct_version_or_get_412(make_database):
    url = await migrated_database(make_database)
    tenant = f"ifm-{uuid.uuid4().hex[:6]}"
    integration = await make_key(url, tenant, "integration")
    agent = await make_key(url, tenant, "agent")
    rounds = sized(4, 20)
    with serving(url) as server:
        case = place_cases(server.base, integration, f"IFM-{tenant}", 1)[0]
        won: list[int] = []
        statuses: collections.Counter[int] = collections.Counter()
        lock = threading.Lock()

        def writer() -> None:
            with httpx.Client(timeout=30, headers=bearer(agent)) as http:
                for _ in range(rounds):
                    version = http.get(f"{server.base}/v1/cases/{case}").json()["version"]
                    response = http.post(f"{server.base}/v1/cases/{case}/notes", json={"text": "race"},
                                         headers={"If-Match": f'"{version}"'})
                    with lock:
                        statuses[response.status_code] += 1
                        if response.status_code == 201:
                            won.append(response.json()["version"])
                            assert response.json()["version"] == version + 1
                        else:
                            assert response.json()["code"] == "version_mismatch", response.text

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE_SECONDS)
        assert not any(t.is_alive() for t in threads)
        print(f"\nIf-Match: {dict(statuses)}")
        assert set(statuses) <= {201, 412}
        assert len(won) == len(set(won))  # no two writers won the same version
        view = httpx.get(f"{server.base}/v1/cases/{case}", headers=bearer(agent), timeout=10).json()
        assert view["version"] == 1 + len(won)
        assert sorted(won) == list(range(2, 2 + len(won)))
