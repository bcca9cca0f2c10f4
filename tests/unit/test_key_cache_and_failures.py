"""The key cache is an LRU a flood of random keys cannot flush; failed checks are limited."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.api import key_cache
from ledger.api.key_cache import FailureLimiter, KeyCache
from ledger.services.keys import ApiKey, Role


def _key(n: int) -> ApiKey:
    return ApiKey(f"id{n}", "t", Role.AUDITOR, None, None, datetime(2026, 1, 1, tzinfo=UTC), None)


def test_a_flood_of_unknown_keys_never_evicts_a_known_one():
    cache = KeyCache(b"secret")
    cache.put(b"real", _key(1), now=0.0)
    for n in range(key_cache.MAX_UNKNOWN_ENTRIES * 5):
        cache.put(n.to_bytes(8, "big"), None, now=0.0)
    assert cache.get(b"real", now=0.5) == (True, _key(1))
    assert len(cache._unknown) == key_cache.MAX_UNKNOWN_ENTRIES


def test_known_keys_leave_least_recently_used_first():
    cache = KeyCache(b"secret")
    for n in range(key_cache.MAX_CACHE_ENTRIES):
        cache.put(n.to_bytes(8, "big"), _key(n), now=0.0)
    assert cache.get((0).to_bytes(8, "big"), now=0.0)[0]  # used: now the most recent
    cache.put(b"new", _key(-1), now=0.0)
    assert cache.get((0).to_bytes(8, "big"), now=0.0)[0]
    assert not cache.get((1).to_bytes(8, "big"), now=0.0)[0]  # the least recently used went
    assert len(cache) == key_cache.MAX_CACHE_ENTRIES


def test_twenty_failures_a_minute_then_refusals_until_the_allowance_refills():
    limiter = FailureLimiter(20)
    assert [limiter.fail("1.2.3.4", 0.0) for _ in range(20)] == [0.0] * 20
    waits = [limiter.fail("1.2.3.4", 0.0) for _ in range(280)]
    assert all(2.9 < w <= 3.0 for w in waits)  # one more failure allowed every 3 s
    assert limiter.wait("5.6.7.8", 0.0) == 0.0  # other clients are not affected
    assert limiter.wait("1.2.3.4", 3.0) == 0.0 and limiter.fail("1.2.3.4", 3.0) == 0.0
    assert limiter.wait("1.2.3.4", 3.0) > 0
    assert FailureLimiter(0).fail("1.2.3.4", 0.0) == 0.0  # 0 switches the limit off


def test_a_fresh_key_whose_lookup_took_seconds_still_gets_its_burst():
    bucket = key_cache.TokenBucket(5)
    asked_at = bucket.stamp - 3.0  # the request's clock reading, taken before a slow lookup
    assert [bucket.take(asked_at) for _ in range(10)] == [0.0] * 10
    assert bucket.take(asked_at) > 0
