"""The process's cache of verified API keys, kept honest about revocations, and the limits.

Looking a key up costs a database round trip, which would be a large share of a request's
budget; verified keys are therefore cached in the process. Revocation must still take effect
at once in every process: ``revoke_key`` notifies ``REVOCATION_CHANNEL`` in the revoking
statement, and each API process keeps one connection LISTENing there (``RevocationListener``)
that drops the key from its cache. While that connection is down (database outage, start-up)
a notification could be missed, so cached keys are then trusted for ``FALLBACK_SECONDS``
only, and the cache is emptied whenever the listener (re)connects. A lookup that raced with a
revocation is not cached (``KeyCache.generation``).

The cache is two LRUs, known keys apart from unknown digests, so a flood of random keys only
ever evicts other random keys; ``FailureLimiter`` counts failed checks per client and
``TokenBucket`` is each key's request rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

import asyncpg

from ledger.services.keys import DEFAULT_RATE_LIMIT, REVOCATION_CHANNEL, ApiKey

log = logging.getLogger("ledger.api")
CACHE_SECONDS = 10.0
"""How long a verified key is trusted while revocations are being listened for."""
FALLBACK_SECONDS = 1.0
"""How long a verified key is trusted while the revocation listener is not connected."""
UNKNOWN_CACHE_SECONDS = 2.0
MAX_CACHE_ENTRIES = 10_000
MAX_UNKNOWN_ENTRIES = 2_000
MAX_CLIENTS = 10_000


class KeyCache:
    """Verified keys by digest, with expiry; also holds each key's rate-limit bucket."""

    def __init__(self, secret: bytes, auth_failures_per_minute: int = 20) -> None:
        self.secret = secret
        # Known keys and unknown digests apart, each an LRU: random keys cannot flush real ones.
        self._entries: OrderedDict[bytes, tuple[ApiKey, float]] = OrderedDict()
        self._unknown: OrderedDict[bytes, tuple[None, float]] = OrderedDict()
        # Digests once verified valid (kept through clear()): a client over its failure limit
        # may still have these looked up, so an attacker's flood cannot lock a real key out.
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._buckets: dict[str, TokenBucket] = {}
        self.failures = FailureLimiter(auth_failures_per_minute)
        self.listening = False
        """True while a connection LISTENs for revocations (see ``RevocationListener``)."""
        self.generation = 0
        """Bumped by every forget/clear: a lookup that spans a change must not be cached."""
        self.listener: RevocationListener | None = None

    def get(self, digest: bytes, now: float) -> tuple[bool, ApiKey | None]:
        entries: OrderedDict[bytes, Any] = self._entries
        entry = entries.get(digest)
        if entry is None:
            entries = self._unknown
            entry = entries.get(digest)
            if entry is None:
                return False, None
        entries.move_to_end(digest)
        key, stored = entry
        if key is None:
            ttl = UNKNOWN_CACHE_SECONDS
        else:
            ttl = CACHE_SECONDS if self.listening else FALLBACK_SECONDS
        if now - stored >= ttl:
            return False, None
        return True, key

    def put(self, digest: bytes, key: ApiKey | None, now: float, generation: int | None = None) -> None:
        if key is not None:
            self._seen[digest] = None
            self._seen.move_to_end(digest)
            if len(self._seen) > MAX_CACHE_ENTRIES:
                self._seen.popitem(last=False)
        if generation is not None and generation != self.generation:
            return  # a revocation arrived while this key was looked up: don't keep the answer
        if key is None:
            self._unknown[digest] = (None, now)
            self._unknown.move_to_end(digest)
            if len(self._unknown) > MAX_UNKNOWN_ENTRIES:
                self._unknown.popitem(last=False)
            return
        self._entries[digest] = (key, now)
        self._entries.move_to_end(digest)

        if len(self._entries) > MAX_CACHE_ENTRIES:
            self._entries.popitem(last=False)  # the least recently used key

    def forget(self, key_id: str) -> None:
        self.generation += 1
        for digest, (key, _) in list(self._entries.items()):
            if key is not None and key.key_id == key_id:
                del self._entries[digest]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._unknown.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, digest: bytes) -> bool:
        """Whether ``digest`` was once verified valid (it may have expired or been revoked)."""
        return digest in self._seen

    def ensure_listening(self, pool: asyncpg.Pool) -> None:
        """Start this process's revocation listener on first use (idempotent)."""
        listener = self.listener
        if listener is None or listener.pool is not pool or listener.finished():
            self.listener = RevocationListener(self, pool)
            self.listener.start()

    def bucket(self, key: ApiKey) -> TokenBucket:
        bucket = self._buckets.get(key.key_id)
        rate = key.rate_limit or DEFAULT_RATE_LIMIT
        if bucket is None or bucket.rate != rate:
            if len(self._buckets) >= MAX_CACHE_ENTRIES:
                self._buckets.clear()
            bucket = self._buckets[key.key_id] = TokenBucket(rate)
        return bucket


class RevocationListener:
    """Holds one pool connection LISTENing on ``REVOCATION_CHANNEL``; reconnects after failures.

    It gives its connection back as soon as the pool starts closing, so shutdown never waits
    on it.
    """

    RETRY_SECONDS = 1.0
    CHECK_SECONDS = 0.2

    def __init__(self, cache: KeyCache, pool: asyncpg.Pool) -> None:
        self.cache = cache
        self.pool = pool
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._listen_forever())

    def finished(self) -> bool:
        return self.task is not None and self.task.done()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def _on_revoked(self, _conn: object, _pid: int, _channel: str, key_id: str) -> None:
        self.cache.forget(key_id)

    async def _listen_forever(self) -> None:
        while not self.pool.is_closing():
            try:
                async with self.pool.acquire(timeout=5) as conn:
                    await conn.add_listener(REVOCATION_CHANNEL, self._on_revoked)
                    # Revocations before this point were not heard: forget everything.
                    self.cache.clear()
                    self.cache.listening = True
                    try:
                        while not conn.is_closed() and not self.pool.is_closing():
                            await asyncio.sleep(self.CHECK_SECONDS)
                    finally:
                        self.cache.listening = False
                        with contextlib.suppress(Exception):
                            await conn.remove_listener(REVOCATION_CHANNEL, self._on_revoked)
            except asyncio.CancelledError:
                self.cache.listening = False
                raise
            except Exception as error:  # database down: trust cached keys only briefly
                self.cache.listening = False
                log.warning("key revocation listener: %s", type(error).__name__)
            await asyncio.sleep(self.RETRY_SECONDS)


class TokenBucket:
    """``rate`` requests per second on average, bursts up to two seconds' worth."""

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.capacity = float(2 * rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self, now: float) -> float:
        """0 when allowed, else the seconds until a token is available."""
        # ``now`` may predate the bucket (taken before a slow key lookup): never count
        # negative time, which would drain a fresh key's whole burst.
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class FailureLimiter:
    """Failed key checks per client: ``per_minute`` allowed at once, refilled over a minute."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clients: OrderedDict[str, list[float]] = OrderedDict()  # client → [tokens, stamp]

    def _tokens(self, client: str, now: float) -> list[float]:
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = [self.capacity, now]
            if len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        else:
            state[0] = min(self.capacity, state[0] + (now - state[1]) * self.rate)
            state[1] = now
            self._clients.move_to_end(client)
        return state

    def wait(self, client: str, now: float) -> float:
        """0 while ``client`` may still fail, else the seconds until it may again."""
        if self.capacity <= 0:
            return 0.0
        tokens = self._tokens(client, now)[0]
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def fail(self, client: str, now: float) -> float:
        """Count a failed check; returns the wait if there was no allowance left (then 429)."""
        if self.capacity <= 0:
            return 0.0
        state = self._tokens(client, now)
        if state[0] < 1.0:
            return (1.0 - state[0]) / self.rate
        state[0] -= 1.0
        return 0.0
