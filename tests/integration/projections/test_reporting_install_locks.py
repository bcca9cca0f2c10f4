"""``reporting_install()`` (run in ``ledger rebuild``'s swap) against a concurrent VACUUM.

A VACUUM holds its table's SHARE UPDATE EXCLUSIVE lock and, at its end, updates the table's
``pg_class`` row. The function once GRANTed (changing that row, without a lock) and then
asked for ACCESS EXCLUSIVE: each side waited for the other and PostgreSQL aborted the swap.
Here a second connection plays the VACUUM deterministically: it holds the lock, and once the
function is waiting, locks the ``pg_class`` row as the VACUUM's update would.
"""

from __future__ import annotations

import asyncio

import asyncpg

WAITING_SQL = """
    SELECT count(*) FROM pg_stat_activity
    WHERE pid = $1 AND wait_event_type = 'Lock'
"""
ROW_SQL = "SELECT 1 FROM pg_class WHERE oid = 'rm_contact_stats'::regclass FOR UPDATE"


async def test_reporting_install_waits_for_a_vacuum_without_a_deadlock(
        own_pool: asyncpg.Pool) -> None:
    async with own_pool.acquire() as swap, own_pool.acquire() as vacuum:
        await vacuum.execute("SET lock_timeout = '10s'")
        await swap.execute("SET lock_timeout = '10s'")
        vacuuming = vacuum.transaction()
        await vacuuming.start()
        await vacuum.execute("LOCK TABLE rm_contact_stats IN SHARE UPDATE EXCLUSIVE MODE")
        swap_pid = swap.get_server_pid()

        async def install() -> None:
            async with swap.transaction():
                await swap.execute("SELECT reporting_install()")

        installing = asyncio.create_task(install())
        for _ in range(200):
            if await own_pool.fetchval(WAITING_SQL, swap_pid):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("reporting_install() never waited for the vacuum's lock")
        # What the VACUUM's closing pg_class update does: wait for whoever changed the row.
        assert await vacuum.fetchval(ROW_SQL) == 1
        await vacuuming.commit()
        await asyncio.wait_for(installing, 20)
    assert await own_pool.fetchval(
        "SELECT relrowsecurity FROM pg_class WHERE oid = 'rm_contact_stats'::regclass")
