"""Webhook delivery benchmark: fan-out latency, and a receiver down then back.

    python -m bench.webhooks                       # 1,000 events/s, 3 endpoints, ~3 minutes
    python -m bench.webhooks --seconds 10 --down-seconds 20   # a quick run

One process (this one) appends contacts through ``CaseService`` (the API's write path without
HTTP) at ``--rate`` events/s and runs the deliverer exactly as ``ledger serve`` does (with
``--writer-process``, the writers run in a second process, as API processes beside one
``ledger deliver`` process, whose collector settings this process then takes); three
receivers (``tests/webhook_receiver.py``, real processes on 127.0.0.1, verifying every
signature with ``standardwebhooks``) log each arrival.

1. steady: ``--seconds`` at ``--rate``; latency = arrival at the receiver − the event's
   ``recorded_at`` (set when its transaction started, so commit time is included); p50/p99.
2. outage: receiver 3 is stopped for ``--down-seconds`` while writing goes on, then started
   again on its port. The retry schedule is compressed by ``--backoff-scale`` (default 0.1:
   60 s down at 0.1 makes the same retries as 10 minutes down at full scale). Checked: every
   event reached every receiver, each case's events in order, no message acknowledged twice.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.scratch import scratch_database
from ledger.config import Settings
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore
from ledger.services.cases import CaseService, Context
from ledger.services.repositories import case_service
from ledger.webhooks.endpoints import Actor, EndpointService
from ledger.webhooks.secrets import SecretVault
from ledger.webhooks.wiring import build_deliverer, endpoint_repository
from ledger.workers.gc_tuning import tune_for_throughput

RECEIVER = Path(__file__).resolve().parent.parent / "tests" / "webhook_receiver.py"
TENANT = "bench-hooks"
MASTER_KEY = bytes(range(32))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Receiver:
    def __init__(self, secret: str, port: int = 0, out: Path | None = None) -> None:
        self.secret = secret
        self.out = out or Path(tempfile.mkdtemp(prefix="ledger-bench-hooks-")) / "log.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), "--out", str(self.out), "--port", str(port),
             "--secret", secret, "--no-body"], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline().split()[1])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.read_text().splitlines()
                if line.endswith("}")]


async def write(service: CaseService, ids: list[uuid.UUID], rate: int, seconds: float) -> int:
    ctx = Context(TENANT, "bench:webhooks", uuid.uuid4())
    writers, sent = 32, 0
    interval = writers / rate

    def contact(case: Any, now: datetime) -> None:
        case.record_contact(channel="email", direction="outbound", outcome="delivered",
                            occurred_at=now - timedelta(seconds=1), agent_id="agent-0", now=now)

    async def writer(offset: int) -> None:
        nonlocal sent
        deadline, next_at, index = time.monotonic() + seconds, time.monotonic(), offset
        while time.monotonic() < deadline:
            await service.execute(ctx, ids[index % len(ids)], contact, lambda c, r: (201, b""))
            sent += 1
            index += writers
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(*(writer(i) for i in range(writers)))
    return sent


def write_apart(url: str, ids: list[uuid.UUID], rate: int, seconds: float) -> int:
    """``write`` in a process of its own (run through a spawned executor)."""
    import uvloop

    async def apart() -> int:
        pool = await create_pool(url, min_size=4, max_size=40)
        store = EventStore(pool, held_connections=8)
        await store.start()
        try:
            return await write(case_service(store, MASTER_KEY, snapshot_interval=50),
                               ids, rate, seconds)
        finally:
            await store.close()
            await pool.close()

    uvloop.install()
    return asyncio.run(apart())


def check(log: list[dict[str, Any]]) -> dict[str, Any]:
    """Per receiver: events acknowledged, duplicates acknowledged, cases out of order."""
    acked: dict[str, int] = defaultdict(int)
    order: dict[str, list[int]] = defaultdict(list)
    for entry in log:
        if entry["status"] != 200 or entry["verified"] != [0]:
            continue
        acked[entry["webhook_id"]] += 1
        if acked[entry["webhook_id"]] == 1:
            order[entry["head"]["case_id"]].append(entry["head"]["version"])
    out_of_order = sum(1 for versions in order.values() if versions != sorted(versions))
    return {"events": len(acked), "acknowledged_twice": sum(1 for n in acked.values() if n > 1),
            "cases_out_of_order": out_of_order,
            "unverified": sum(1 for e in log if e["verified"] != [0])}


async def wait_all(receivers: list[Receiver], expected: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(len({e["webhook_id"] for e in r.log() if e["status"] == 200}) >= expected
               for r in receivers):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return float("nan")


async def run(url: str, args: argparse.Namespace) -> None:
    pool = await create_pool(url, min_size=4, max_size=40)
    store = EventStore(pool, held_connections=8)  # as the API holds them
    await store.start()
    service = case_service(store, MASTER_KEY, snapshot_interval=50)
    ids = []
    for index in range(args.cases):
        case = Case.place(
            case_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{TENANT}/{index}"), tenant_id=TENANT,
            external_ref=f"HOOK-{index:06d}", portfolio="bench", product="credit_card",
            currency="USD", principal=100_000, interest=0, fees=0, past_due_amount=10_000,
            days_past_due=60, placed_at=datetime(2026, 1, 1, tzinfo=UTC),
            debtor=Debtor(name="Synthetic", timezone="America/Chicago", jurisdiction="US-TX"))
        await service.repository.save(case, tenant_id=TENANT, actor="bench")
        ids.append(case.id)
    settings = Settings(database_url=url, webhook_allow_hosts=frozenset({"127.0.0.1"}),
                        webhook_backoff_scale=args.backoff_scale)
    vault = SecretVault(MASTER_KEY)
    endpoints = EndpointService(pool, endpoint_repository(store), vault,
                                settings.webhook_allow_hosts)
    receivers: list[Receiver] = []
    for _ in range(args.endpoints):
        port_probe = Receiver("whsec_" + "A" * 32)
        port_probe.stop()
        endpoint, secret = await endpoints.register(
            Actor(TENANT, "bench"), f"http://127.0.0.1:{port_probe.port}/hook",
            ["ContactRecorded"], None, None)
        assert secret is not None
        receivers.append(Receiver(secret, port_probe.port))
    apart = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")) if args.writer_process else None

    async def writing(seconds: float) -> int:
        if apart is None:
            return await write(service, ids, args.rate, seconds)
        return await asyncio.get_running_loop().run_in_executor(
            apart, write_apart, url, ids, args.rate, seconds)

    if apart is not None:
        apart.submit(int).result()  # the child is up before the clock starts
        tune_for_throughput()  # as `ledger deliver`
    deliverer = build_deliverer(settings, pool, store, MASTER_KEY, vault)
    await deliverer.start()
    await asyncio.sleep(2)  # shard owned, endpoints loaded
    try:
        started, cpu = time.monotonic(), time.process_time()
        sent = await writing(args.seconds)
        achieved = sent / (time.monotonic() - started)
        drained = await wait_all(receivers, sent, 120)
        cpu_share = (time.process_time() - cpu) / (time.monotonic() - started)
        latencies = [
            (e["t"] - datetime.fromisoformat(e["head"]["recorded_at"]).timestamp()) * 1000
            for r in receivers for e in r.log() if e["status"] == 200]
        print(json.dumps({"phase": "steady", "endpoints": args.endpoints,
                          "writers": "own process" if apart else "deliverer's process",
                          "appended_events_per_second": round(achieved),
                          "deliveries": len(latencies),
                          "p50_ms": round(statistics.median(latencies), 1),
                          "p99_ms": round(percentile(latencies, 0.99), 1),
                          "max_ms": round(max(latencies), 1),
                          "drained_after_writes_s": round(drained, 2),
                          "deliverer_process_cpu_share": round(cpu_share, 2),
                          "checks": [check(r.log()) for r in receivers]}), flush=True)
        if args.down_seconds > 0:
            down = receivers[-1]
            down.stop()
            still_writing = asyncio.create_task(writing(args.down_seconds + 10))
            await asyncio.sleep(args.down_seconds)
            receivers[-1] = Receiver(down.secret, down.port, down.out)
            more = await still_writing
            recovered = await wait_all(receivers, sent + more, 600)
            print(json.dumps({"phase": "outage", "down_seconds": args.down_seconds,
                              "backoff_scale": args.backoff_scale,
                              "events_written": sent + more,
                              "all_delivered_after_writes_s": round(recovered, 2),
                              "checks": [check(r.log()) for r in receivers]}), flush=True)
    finally:
        await deliverer.stop()
        if apart is not None:
            apart.shutdown()
        for receiver in receivers:
            receiver.stop()
        await store.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL server (default: an embedded one)")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--down-seconds", type=float, default=60)
    parser.add_argument("--backoff-scale", type=float, default=0.1)
    parser.add_argument("--writer-process", action="store_true",
                        help="append from a second process; this one only delivers")
    args = parser.parse_args()
    async with scratch_database(args.url) as (url, _):
        await run(url, args)


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
