"""Which server a lag-tolerant read goes to when the replica is missing or is no replica."""

from __future__ import annotations

from ledger.db.replica import ReadSide


async def test_without_a_replica_every_read_uses_the_primary(pool):
    side = ReadSide(pool, None)
    await side.start()
    assert await side.pool_for("cases") is pool
    await side.close()


async def test_a_replica_url_that_answers_nothing_is_skipped_and_the_primary_answers(pool):
    side = ReadSide(pool, "postgresql://postgres@/ledger?host=/nonexistent-socket-dir&port=5432")
    await side.start()
    assert not side.healthy
    assert await side.pool_for("cases") is pool
    await side.close()


async def test_a_server_that_is_not_in_recovery_is_not_taken_for_a_replica(pool, database_url):
    side = ReadSide(pool, database_url)  # the primary itself: pg_is_in_recovery() is false
    await side.start()
    assert not side.healthy and side.lag_seconds == 0.0
    assert await side.pool_for("cases") is pool
    await side.close()
