"""``ledger serve`` with the smallest pool the configuration allows starts with every worker
and serves concurrent requests: the store's held connections shrink to leave the background
workers and the requests theirs (a lane as large as the pool once left start-up waiting for
ever, silently, at "Waiting for application startup")."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from processes import bearer, make_key, migrated_database, placement, serving


async def test_the_smallest_pool_starts_and_serves_concurrent_writes_and_reads(make_database):
    url = await migrated_database(make_database)
    key = await make_key(url, "small-pool", "admin")
    with serving(url, LEDGER_POOL_MIN_SIZE="1", LEDGER_POOL_MAX_SIZE="8") as server:
        async with httpx.AsyncClient(base_url=server.base, headers=bearer(key),
                                     timeout=30) as client, asyncio.timeout(90):
            placed = await asyncio.gather(*(
                client.post("/v1/cases", json=placement(f"SP-{uuid.uuid4().hex[:8]}"))
                for _ in range(24)))
            assert {r.status_code for r in placed} == {201}
            reads = await asyncio.gather(
                *(client.get(f"/v1/cases/{r.json()['case_id']}") for r in placed),
                *(client.get("/v1/cases", params={"limit": 5}) for _ in range(8)))
            assert {r.status_code for r in reads} == {200}
