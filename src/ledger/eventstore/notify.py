"""Waking feed subscribers without NOTIFY inside append transactions.

NOTIFY inside a transaction takes a database-wide lock held through commit, which serializes the
commits of all appenders. Instead: an in-process signal after every successful append, an
optional coalesced ``pg_notify`` sent after commit on another connection (for subscribers in
other processes), and subscribers always poll as a fallback, so a lost signal only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg

_logger = logging.getLogger(__name__)

NOTIFY_SQL = "SELECT pg_notify($1, '')"
FOLLOW_GAP = 0.02
"""Seconds a woken feed follower (projection, webhook fan-out) waits after its previous read
began (see ``Wakeup.wait``): at most 50 reads a second each, whatever the append rate."""


class Wakeup:
    """A coalesced broadcast signal.

    A waiter takes ``current()`` *before* reading the feed and waits on it after an empty read,
    so an append that lands in between still wakes it. ``fire()`` wakes every waiter of the
    current generation at once; many fires between two reads cost one wake-up.
    """

    def __init__(self) -> None:
        self._generation = asyncio.Event()

    def current(self) -> asyncio.Event:
        """The generation a reader waits on after reading."""
        return self._generation

    def fire(self) -> None:
        """Wake everyone waiting on the current generation."""
        generation, self._generation = self._generation, asyncio.Event()
        generation.set()

    @staticmethod
    async def wait(generation: asyncio.Event, timeout: float, *, not_before: float = 0.0) -> bool:
        """Wait until ``generation`` fires or ``timeout`` seconds pass; True when woken.

        A woken waiter returns no earlier than ``not_before`` (``time.monotonic()``): a feed
        follower passes its last read's start plus ``FOLLOW_GAP``, so that under a steady
        stream of appends it reads them in batches instead of one or two per read (each read
        costs it and the database a few statements), while a lone append is still read at once.
        """
        woken = generation.is_set()
        if not woken:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    woken = await generation.wait()
        if woken and (delay := not_before - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        return woken


class PgWakeups:
    """Cross-process wake-ups over LISTEN/NOTIFY, kept off the append path.

    ``poke()`` after a commit schedules at most one ``pg_notify`` per ``min_interval`` seconds,
    on a pool connection of its own. ``start()`` holds one pool connection that LISTENs and fires
    the local ``Wakeup`` on every notification, reconnecting after a failure.
    """

    def __init__(
        self, pool: asyncpg.Pool, wakeup: Wakeup, channel: str = "ledger_events",
        min_interval: float = 0.01,
    ) -> None:
        self._pool = pool
        self._wakeup = wakeup
        self._channel = channel
        self._min_interval = min_interval
        self._last_sent = 0.0
        self._sender: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Ask for a notification soon; coalesces with one already scheduled."""
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        delay = self._last_sent + self._min_interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._last_sent = time.monotonic()
        try:
            await self._pool.execute(NOTIFY_SQL, self._channel)
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
            # Subscribers poll anyway: a lost notification only delays them.
            _logger.warning("pg_notify failed: %s", error)

    async def start(self) -> None:
        """Begin listening for notifications from other processes."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen_forever())

    async def _listen_forever(self) -> None:
        def on_notification(*_: object) -> None:
            self._wakeup.fire()

        while True:
            try:
                async with self._pool.acquire() as connection:
                    await connection.add_listener(self._channel, on_notification)
                    try:
                        while not connection.is_closed():
                            await asyncio.sleep(1.0)
                    finally:
                        with contextlib.suppress(Exception):
                            await connection.remove_listener(self._channel, on_notification)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # keep listening through outages; polling covers gaps
                _logger.warning("LISTEN connection lost: %s", error)
            await asyncio.sleep(1.0)

    async def close(self) -> None:
        """Stop listening and wait for a pending notification to go out."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await self._sender
