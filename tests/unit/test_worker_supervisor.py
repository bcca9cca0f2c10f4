"""The worker framework's supervision: a loop that raises is restarted, with backoff."""

from __future__ import annotations

import asyncio

from ledger.workers import Backoff, Supervisor
from ledger.workers.metrics import WORKER_RESTARTS


async def test_a_loop_that_raises_is_restarted_until_it_runs_and_the_restarts_are_counted():
    calls = 0
    running = asyncio.Event()

    async def body() -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise KeyError("boom")  # not a database error: the old scheduler died of these
        running.set()
        await asyncio.sleep(3600)

    before = WORKER_RESTARTS.labels("unit-test")._value.get()
    supervisor = Supervisor("unit-test", body, backoff=Backoff(initial=0.01, maximum=0.05))
    await supervisor.start()
    await asyncio.wait_for(running.wait(), timeout=5)
    status = supervisor.status()
    assert (status.state, status.restarts, status.last_error) == ("running", 2, "KeyError")
    assert WORKER_RESTARTS.labels("unit-test")._value.get() == before + 2
    await supervisor.stop()
    assert supervisor.status().state == "stopped"


def test_backoff_grows_exponentially_to_its_cap_with_jitter_and_resets():
    backoff = Backoff(initial=1.0, maximum=8.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8]):
        assert 0.75 * base <= delay <= 1.25 * base
    backoff.reset()
    assert backoff.next() <= 1.25
