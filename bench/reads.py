"""Catch-up read+decode of the feed and loading one aggregate: ours vs the eventsourcing library."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Iterator
from typing import Any

from bench.model import BenchCase, case_with_payments
from ledger.db.pool import create_pool
from ledger.eventstore import EventCodec, EventStore, Repository
from ledger.workers.gc_tuning import tune_for_throughput

PAGE = 10_000


async def fill_ours(url: str, events: int) -> None:
    """``events`` events in streams of 500, appended 500 per transaction, then ANALYZE
    (as autovacuum would have done long before a real table held that many rows)."""
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        repository = Repository(EventStore(pool), snapshot_interval=None)
        for _ in range(events // 500):
            await repository.save(case_with_payments(500), tenant_id="bench-read")
        await pool.execute("ANALYZE stored_events")
    finally:
        await pool.close()


async def catch_up_ours(url: str) -> tuple[int, float]:
    """(events, events/s) reading the whole feed in keyset pages and decoding every event."""
    pool = await create_pool(url, min_size=2, max_size=2)
    store, codec = EventStore(pool, held_connections=2), EventCodec()
    await store.start()
    try:
        decode = codec.decode_row
        count = 0
        started = time.perf_counter()
        async for rows in store.feed.pages(tenant_id="bench-read", page_size=PAGE):
            for row in rows:
                decode(row)
            count += len(rows)
        return count, count / (time.perf_counter() - started)
    finally:
        await store.close()
        await pool.close()


@contextlib.contextmanager
def worker_gc() -> Iterator[None]:
    """The collector as the worker processes set it, then back to how it was."""
    threshold = gc.get_threshold()
    tune_for_throughput()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def fill_library(app: Any, events: int) -> None:
    for _ in range(events // 500):
        app.save(case_with_payments(500))


def catch_up_library(app: Any) -> tuple[int, float]:
    """(events, events/s) through the recorder's ``select_notifications`` and the Mapper."""
    recorder, mapper = app.recorder, app.mapper
    count, start = 0, 1
    started = time.perf_counter()
    while notifications := recorder.select_notifications(start, PAGE):
        for notification in notifications:
            mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id + 1
    return count, count / (time.perf_counter() - started)


async def load_ours(url: str, events: int, repeats: int) -> float:
    """Median milliseconds to load an aggregate of ``events`` events (fetch+decode+mutate)."""
    pool = await create_pool(url, min_size=1, max_size=1)
    store = EventStore(pool, held_connections=1)
    await store.start()
    try:
        repository = Repository(store, snapshot_interval=None)
        case = case_with_payments(events)
        await repository.save(case, tenant_id="bench-load")
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            loaded = await repository.load(case.id, tenant_id="bench-load")
            timings.append(time.perf_counter() - started)
        assert loaded == case
        return statistics.median(timings) * 1000
    finally:
        await store.close()
        await pool.close()


def load_library(app: Any, events: int, repeats: int) -> float:
    case: BenchCase = case_with_payments(events)
    app.save(case)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        app.repository.get(case.id)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000
