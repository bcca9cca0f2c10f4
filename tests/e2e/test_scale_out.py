"""Past one machine, on this machine: a primary, a streaming replica, two API processes, a
projection worker and a webhook delivery worker; a client spreading writes and reads across
both API processes.

Shows: read-your-writes with ``min_position`` through the replica; the replica stopped → reads
fall back to the primary and nothing fails; the projection worker SIGKILLed → another process
takes over within the documented time; no acknowledged write lost, and every one pushed to a
bank's receiver by ``ledger deliver``.
"""

from __future__ import annotations

import time
import uuid

import httpx
from processes import Cluster, LedgerProcess, Server, bearer, fetchval, ledger_env, make_key, placement
from replication import Replica
from webhook_fixtures import ReceiverProcess

TAKEOVER_SECONDS = 10.0
"""Documented in docs/SCALING.md: a runner retries unowned projections every 1.5 s; the lock of a
killed owner is released when PostgreSQL notices its connection is gone."""


def _write_then_read(writer: Server, reader: Server, key: str, ref: str) -> tuple[str, float]:
    """Place a case through ``writer``; list it through ``reader`` with the write's position."""
    placed = httpx.post(f"{writer.base}/v1/cases", json=placement(ref), headers=bearer(key), timeout=30)
    assert placed.status_code == 201, placed.text
    position = placed.headers["Ledger-Position"]
    started = time.monotonic()
    listed = httpx.get(f"{reader.base}/v1/cases", params={"external_ref": ref, "min_position": position},
                       headers=bearer(key), timeout=30)
    assert listed.status_code == 200, listed.text
    assert [item["external_ref"] for item in listed.json()["items"]] == [ref], (ref, listed.json())
    return placed.json()["case_id"], time.monotonic() - started


def _reads(server: Server, source: str) -> float:
    text = httpx.get(f"{server.base}/metrics", timeout=10).text
    lines = [line for line in text.splitlines()
             if line.startswith(f'ledger_read_model_reads_total{{source="{source}"}}')]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_a_replica_serves_reads_your_writes_and_failures_of_replica_or_worker_lose_nothing():
    with Cluster() as cluster:
        primary = await cluster.database("ledger")
        with Replica(cluster.server) as replica:
            replica_url = replica.url("ledger")
            tenant = f"scale-{uuid.uuid4().hex[:6]}"
            key = await make_key(primary, tenant, "admin")
            worker = LedgerProcess(["project"], ledger_env(primary))
            worker.start()
            hooks = {"LEDGER_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
            receiver = ReceiverProcess([])
            deliverer = LedgerProcess(["deliver"], ledger_env(primary, **hooks))
            api = [Server(primary, LEDGER_READ_DATABASE_URL=replica_url, LEDGER_RUN_PROJECTIONS="false",
                          LEDGER_RUN_WEBHOOKS="false", **hooks),
                   Server(primary, LEDGER_READ_DATABASE_URL=replica_url,  # its runner is the standby
                          LEDGER_RUN_WEBHOOKS="false", **hooks)]
            acknowledged: list[str] = []
            try:
                api[0].start()
                endpoint = httpx.post(f"{api[0].base}/v1/webhook-endpoints", headers=bearer(key),
                                      json={"url": receiver.url, "event_types": ["Placed"]}, timeout=30)
                assert endpoint.status_code == 201, endpoint.text
                deliverer.start()
                time.sleep(3)  # let the worker take every projection before the standby runner starts
                api[1].start()
                waits = []
                for n in range(20):
                    case_id, waited = _write_then_read(api[n % 2], api[(n + 1) % 2], key, f"RYW-{n}")
                    acknowledged.append(case_id)
                    waits.append(waited)
                assert max(waits) < 2.5, waits  # answered from the replica or, at worst, the primary
                from_replica = [_reads(server, "replica") for server in api]
                assert all(count > 0 for count in from_replica), from_replica

                replica.stop()
                for n in range(10):  # reads fall back to the primary; nothing fails
                    case_id, _ = _write_then_read(api[n % 2], api[(n + 1) % 2], key, f"DOWN-{n}")
                    acknowledged.append(case_id)
                    for server in api:
                        metrics = httpx.get(f"{server.base}/v1/metrics/recovery?group_by=portfolio",
                                            headers=bearer(key), timeout=30)
                        assert metrics.status_code == 200, metrics.text
                assert all(_reads(server, "primary") >= 10 for server in api)
                replica.start()

                worker.kill()
                killed_at = time.monotonic()
                ref = "AFTER-KILL"
                placed = httpx.post(f"{api[0].base}/v1/cases", json=placement(ref), headers=bearer(key), timeout=30)
                assert placed.status_code == 201
                acknowledged.append(placed.json()["case_id"])
                position = placed.headers["Ledger-Position"]
                while True:
                    listed = httpx.get(f"{api[0].base}/v1/cases", headers=bearer(key), timeout=30,
                                       params={"external_ref": ref, "min_position": position})
                    if listed.status_code == 200 and listed.json()["items"]:
                        break
                    assert time.monotonic() - killed_at < TAKEOVER_SECONDS, "no runner took over"
                takeover = time.monotonic() - killed_at
                print(f"\nscale-out: read-your-writes wait max {max(waits) * 1000:.0f} ms, "
                      f"median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms; takeover {takeover:.1f} s")
                pushed = await receiver.wait_for(
                    lambda got: {m["body"]["case_id"] for m in got} >= set(acknowledged), timeout=60)
                assert {m["body"]["case_id"] for m in pushed} == set(acknowledged)
            finally:
                for process in (*api, worker, deliverer):
                    process.close()
                receiver.stop()
            stored = await fetchval(primary, "SELECT count(*) FROM stored_events WHERE tenant_id = $1 "
                                             "AND originator_id = ANY($2::uuid[])", tenant, acknowledged)
            assert stored == len(acknowledged) == 31
