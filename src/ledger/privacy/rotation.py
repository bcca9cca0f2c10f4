"""``ledger keys rotate-master``: re-wrap every case's data key under a new master key.

A leaked master key is not forever: the data keys themselves (and so every sealed placement,
snapshot and reply) stay as they are; only their wrapping changes. The work goes in batches
of ``BATCH`` rows, each in its own transaction (rows locked, unwrapped with the old key,
wrapped with the new one, written with the new key's id), so it can be interrupted at any
point and run again: rows already under the new key are simply not selected any more.
Destroyed keys (erased cases) have nothing to re-wrap; their tombstones are relabelled.

Run it with the API and workers stopped (they hold the old key), then start them with the new
``LEDGER_MASTER_KEY``.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from ledger.privacy.keys import DataKeys
from ledger.privacy.master import master_key_id

BATCH = 1000
COUNT_SQL = "SELECT count(*) FROM data_keys WHERE master_key_id = $1 AND wrapped_key IS NOT NULL"
BATCH_SQL = """
    SELECT case_id, tenant_id, wrapped_key, master_key_id FROM data_keys
    WHERE master_key_id = $1 AND wrapped_key IS NOT NULL
    ORDER BY case_id LIMIT $2 FOR UPDATE
"""
REWRAP_SQL = """
    UPDATE data_keys SET wrapped_key = u.wrapped_key, master_key_id = $3
    FROM unnest($1::uuid[], $2::bytea[]) AS u(case_id, wrapped_key)
    WHERE data_keys.case_id = u.case_id AND data_keys.wrapped_key IS NOT NULL
"""
RELABEL_TOMBSTONES_SQL = """
    UPDATE data_keys SET master_key_id = $2 WHERE master_key_id = $1 AND wrapped_key IS NULL
"""
Progress = Callable[[int, int], None]


async def rotate_master_key(pool: asyncpg.Pool, old_key: bytes, new_key: bytes, *,
                            batch: int = BATCH, progress: Progress | None = None) -> int:
    """Re-wrap every live data key from ``old_key`` to ``new_key``; the number re-wrapped."""
    old, new = DataKeys(pool.fetch, old_key), DataKeys(pool.fetch, new_key)
    old_id, new_id = master_key_id(old_key), master_key_id(new_key)
    if old_id == new_id:
        raise ValueError("the new master key is the old one")
    total = await pool.fetchval(COUNT_SQL, old_id)
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(BATCH_SQL, old_id, batch)
            if rows:
                ids, wrapped = [], []
                for row in rows:
                    key = old.unwrap_row(row)  # MasterKeyMismatch: not the key it was wrapped by
                    assert key is not None  # the query takes live keys only
                    ids.append(row[0])
                    wrapped.append(new.wrap(row[0], row[1], key))
                await conn.execute(REWRAP_SQL, ids, wrapped, new_id)
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))
        if len(rows) < batch:
            break
    await pool.execute(RELABEL_TOMBSTONES_SQL, old_id, new_id)
    return done
