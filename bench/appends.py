"""Append throughput: our asyncpg store vs the eventsourcing PostgreSQL recorder vs raw COPY."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from ledger.db.pool import create_pool
from ledger.eventstore import ChainHead, EventStore, NewEvent

TOPIC = "bench.model:BenchCase.PaymentReceived"
COPY_COLUMNS = ["originator_id", "originator_version", "topic", "state", "recorded_at",
                "tenant_id", "actor", "chain_hash"]
LOOP = "uvloop"  # event loop of the writer processes; set from the command line
CREATE_COPY_TARGET = "CREATE TABLE IF NOT EXISTS bench_copy (LIKE stored_events INCLUDING ALL)"


async def ours(url: str, writers: int, per_txn: int, duration: float, state: bytes, *,
               held: bool = True) -> float:
    """Events/s with ``writers`` tasks, each appending ``per_txn`` events per transaction.

    ``held``: the store keeps one connection per writer (no pool reset per statement);
    otherwise every append borrows a pool connection as configured by ``create_pool``.
    """
    pool = await create_pool(url, min_size=writers, max_size=writers)
    store = EventStore(pool, held_connections=writers if held else 0)
    await store.start()
    stored = 0
    deadline = 0.0

    async def writer() -> None:
        nonlocal stored
        stream, version, head = uuid4(), 0, None
        while time.perf_counter() < deadline:
            batch = [NewEvent(stream, version + i, TOPIC, state) for i in range(1, per_txn + 1)]
            rows = await store.append(batch, tenant_id="bench", actor="bench-writer",
                                      heads={stream: head} if head else None)
            head = ChainHead(rows[-1].originator_version, rows[-1].chain_hash)
            version += per_txn
            stored += per_txn

    try:
        deadline = time.perf_counter() + 0.2  # warm up connections and statement caches
        await asyncio.gather(*(writer() for _ in range(writers)))
        stored = 0
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(writer() for _ in range(writers)))
        return stored / (time.perf_counter() - started)
    finally:
        await store.close()
        await pool.close()


def library(recorder: object, writers: int, per_txn: int, duration: float,
            state: bytes) -> float:
    """Events/s through the eventsourcing recorder's ``insert_events`` from ``writers`` threads."""
    stored = 0
    lock = threading.Lock()

    def writer(deadline: float) -> None:
        nonlocal stored
        stream, version = uuid4(), 0
        while time.perf_counter() < deadline:
            batch = [StoredEvent(stream, version + i, TOPIC, state) for i in range(1, per_txn + 1)]
            recorder.insert_events(batch)  # type: ignore[attr-defined]
            version += per_txn
            with lock:
                stored += per_txn

    with ThreadPoolExecutor(writers) as threads:
        list(threads.map(writer, [time.perf_counter() + 0.2] * writers))
        stored = 0
        started = time.perf_counter()
        list(threads.map(writer, [started + duration] * writers))
        return stored / (time.perf_counter() - started)


async def raw_copy(url: str, rows: int, state: bytes) -> float:
    """Rows/s of one COPY into a table shaped and indexed like ``stored_events``."""
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            await connection.execute(CREATE_COPY_TARGET)
            moment = datetime.now(UTC)
            stream = uuid4()
            records = [(stream, version, TOPIC, state, moment, "bench", "bench-writer",
                        bytes(32)) for version in range(1, rows + 1)]
            started = time.perf_counter()
            await connection.copy_records_to_table("bench_copy", records=records,
                                                   columns=COPY_COLUMNS)
            return rows / (time.perf_counter() - started)
    finally:
        await pool.close()


def _process_worker(url: str, writers: int, per_txn: int, duration: float, state: bytes,
                    loop: str, barrier: Any, results: Any) -> None:
    if loop == "uvloop":
        import uvloop

        uvloop.install()
    barrier.wait()
    results.put(asyncio.run(ours(url, writers, per_txn, duration, state)))


def ours_in_processes(url: str, processes: int, writers: int, per_txn: int, duration: float,
                      state: bytes) -> float:
    """Summed events/s of ``processes`` OS processes sharing ``writers`` writer tasks
    (one asyncio loop per process, as several API workers would run)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=_process_worker, args=(
        url, writers // processes, per_txn, duration, state, LOOP, barrier, results))
        for _ in range(processes)]
    for worker in workers:
        worker.start()
    rates = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(rates)
