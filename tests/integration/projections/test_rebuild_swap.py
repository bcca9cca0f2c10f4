"""``ledger rebuild``'s swap against readers that hold the live tables.

The swap moves each live table out under an ACCESS EXCLUSIVE lock. A reader (a BI user's
transaction over the reporting views, say) that holds one of those tables and then asks for
one the swap already moved closes a cycle; PostgreSQL aborts one side. When it picks the
swap, the rebuild tries the swap again instead of throwing the whole load away.
"""

from __future__ import annotations

import asyncio

import asyncpg

from ledger.config import Settings
from ledger.projections import commands
from ledger.projections.rebuild import rebuild
from ledger.projections.registry import by_name

from projection_support import Writer, place

LOCK_WAITERS_SQL = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


async def test_a_swap_aborted_to_break_a_deadlock_is_tried_again(
        own_pool: asyncpg.Pool, tenant: str) -> None:
    await Writer(own_pool, tenant).save(*(place(tenant, f"S{i}") for i in range(3)))
    await rebuild(own_pool, [by_name("cases")], batch_size=2)
    async with own_pool.acquire() as reader:
        # The reader never runs the deadlock check first: the swap, waiting longer, does.
        await reader.execute("SET deadlock_timeout = '30s'")
        reading = reader.transaction()
        await reading.start()
        await reader.fetchval("SELECT count(*) FROM rm_payments")
        rebuilding = asyncio.create_task(
            rebuild(own_pool, [by_name("cases")], batch_size=2))
        for _ in range(400):  # the swap has moved rm_cases and waits for rm_payments
            if await own_pool.fetchval(LOCK_WAITERS_SQL):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the swap never waited for the reader's table")
        # The swap holds rm_cases now: this read closes the cycle, and returns once the
        # swap (the one that finds the deadlock) has been rolled back.
        assert await reader.fetchval("SELECT count(*) FROM rm_cases WHERE tenant_id = $1",
                                     tenant) == 3
        await reading.commit()
    position = await asyncio.wait_for(rebuilding, 60)
    assert position.events_applied == await own_pool.fetchval(
        "SELECT count(*) FROM stored_events")
    assert await own_pool.fetchval("SELECT count(*) FROM rm_cases WHERE tenant_id = $1",
                                   tenant) == 3
    assert not await own_pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%' "
        "OR nspname LIKE 'retired\\_%'")


async def test_ledger_rebuild_says_what_to_do_when_the_swap_keeps_deadlocking(
        database_url: str, monkeypatch, capsys) -> None:
    async def deadlocking(*args, **kwargs):
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    monkeypatch.setattr(commands, "rebuild", deadlocking)
    assert await commands._rebuild(Settings(), database_url, ["cases"]) == 1
    error = capsys.readouterr().err
    assert "deadlocked with readers of the live tables 3 times" in error
    assert "run the rebuild again" in error
