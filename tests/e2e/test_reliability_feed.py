"""Feed consumers: two followers of /v1/events through concurrent writes and server restarts.

Each consumer keeps only its cursor; on any error it asks again from the same cursor. Writers
post payments on several cases while the server is killed (SIGKILL) and stopped (SIGTERM) and
restarted. Each consumer must see every event of the tenant exactly once, both in the same
order, and that order must be the one a fresh read from the start gives.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
from processes import Server, bearer, fetch, make_key, migrated_database, payment, place_cases, sized

WRITERS = 4
PAYMENTS_PER_WRITER = sized(150, 1500)
DEADLINE_SECONDS = sized(120, 600)


def _follow(base: str, key: str, seen: list[tuple[str, int]], stop: threading.Event, errors: list[str]) -> None:
    cursor: str | None = None
    with httpx.Client(timeout=10, headers=bearer(key)) as http:
        while not stop.is_set():
            params: dict[str, str | float] = {"limit": 100, "wait": 0.5}
            if cursor is not None:
                params["after"] = cursor
            try:
                response = http.get(f"{base}/v1/events", params=params)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code != 200:
                if response.status_code != 503:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.1)
                continue
            page = response.json()
            seen.extend((item["case_id"], item["version"]) for item in page["items"])
            cursor = page["next_cursor"]


async def test_two_feed_consumers_see_every_event_once_in_one_order_across_restarts(make_database):
    url = await migrated_database(make_database)
    tenant = f"feed-{uuid.uuid4().hex[:6]}"
    key = await make_key(url, tenant, "integration")
    server = Server(url).start()
    try:
        cases = place_cases(server.base, key, f"FEED-{tenant}", WRITERS * 2)
        deadline = time.monotonic() + DEADLINE_SECONDS
        acknowledged = [0]
        lock = threading.Lock()

        def writer(w: int) -> None:
            with httpx.Client(timeout=10, headers=bearer(key)) as http:
                for n in range(PAYMENTS_PER_WRITER):
                    pid = f"F-{w}-{n}-{uuid.uuid4().hex[:6]}"
                    while time.monotonic() < deadline:
                        try:
                            response = http.post(f"{server.base}/v1/cases/{cases[(w + n) % len(cases)]}/payments",
                                                 json=payment(pid), headers={"Idempotency-Key": pid})
                        except httpx.TransportError:
                            time.sleep(0.05)
                            continue
                        if response.status_code in (200, 201):
                            with lock:
                                acknowledged[0] += 1
                            break
                        time.sleep(0.05)

        stop = threading.Event()
        consumers = [([], []) for _ in range(2)]  # (seen, errors)
        followers = [threading.Thread(target=_follow, args=(server.base, key, seen, stop, errors))
                     for seen, errors in consumers]
        writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for thread in followers + writers:
            thread.start()
        total = WRITERS * PAYMENTS_PER_WRITER
        for fraction, how in ((3, "kill"), (6, "term")):
            while acknowledged[0] < total * fraction // 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            server.kill() if how == "kill" else server.terminate()
            server.start()
        for thread in writers:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert acknowledged[0] == total
        rows = await fetch(url, "SELECT originator_id, originator_version FROM stored_events "
                           "WHERE tenant_id = $1", tenant)
        everything = {(str(r["originator_id"]), r["originator_version"]) for r in rows}
        while time.monotonic() < deadline and any(len(seen) < len(everything) for seen, _ in consumers):
            time.sleep(0.1)
        stop.set()
        for thread in followers:
            thread.join(timeout=30)
        fresh: list[tuple[str, int]] = []
        fresh_stop, fresh_errors = threading.Event(), []
        reader = threading.Thread(target=_follow, args=(server.base, key, fresh, fresh_stop, fresh_errors))
        reader.start()
        while len(fresh) < len(everything) and time.monotonic() < deadline:
            time.sleep(0.05)
        fresh_stop.set()
        reader.join(timeout=30)
    finally:
        server.close()
    print(f"\nfeed: {len(everything)} events, consumers saw {[len(s) for s, _ in consumers]}")
    for seen, errors in consumers:
        assert errors == []
        assert len(seen) == len(set(seen)), "an event was delivered twice"
        assert set(seen) == everything, "an event was missed"
        assert seen == fresh  # one stable order, the same for every reader
    # Within a case the feed keeps version order.
    last: dict[str, int] = {}
    for case_id, version in fresh:
        assert version > last.get(case_id, 0)
        last[case_id] = version
