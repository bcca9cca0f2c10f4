"""The message sender: delivers due outbox rows to the sms and email providers.

Ownership: one sender per database, by a session advisory lock held on a dedicated
connection; when its process dies the lock goes and another process's sender takes over
within ``takeover_interval``. So no row is sent by two processes at once, and no lease is
needed: a row a dead sender was sending is simply due again.

Per row: the message's case is loaded and permission asked again (a cease, opt-out or
dispute recorded since queueing stops it; hours or daily limits postpone it); the sealed
content is opened with the case's key (erased → failed); the provider gets a signed POST
whose ``webhook-id`` is the message id on every attempt, so a provider that de-duplicates
sees it once even when Ledger crashed after the provider's 2xx. ``MessageSent`` is recorded
only after a 2xx, in the same transaction as the outbox row's new state. Anything else is
retried with exponential backoff and jitter; after ``max_attempts`` the message is
``MessageFailed``. The loop is supervised (``ledger.workers.Supervisor``: restarted with
backoff, shown on ``/ready``); a message that cannot be processed at all (a poison item) is
quarantined after three tries (``ledger.workers.PoisonGuard``: logged, counted, listed by
``ledger workers status``) and the rest go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec

from ledger.domain.case import Case
from ledger.messaging.content import open_content
from ledger.messaging.signing import signature_headers
from ledger.privacy import DataKeys
from ledger.services.cases import CaseNotFound, CaseService, Context
from ledger.workers import PoisonGuard, Supervisor, WorkerStatus

log = logging.getLogger("ledger.messages")
ACTOR = "system:sender"
LOCK_KEY = int.from_bytes(hashlib.sha256(b"ledger.worker:message-sender").digest()[:8], "big",
                          signed=True)
DUE_SQL = """
    SELECT message_id, tenant_id, case_id, channel, attempts FROM message_outbox
    WHERE state = 'pending' AND next_attempt_at <= $1
      AND NOT (message_id::text = ANY($3::text[]))
    ORDER BY next_attempt_at LIMIT $2
"""
RETRY_SQL = """
    UPDATE message_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4
    WHERE message_id = $1 AND state = 'pending'
"""
DONE_SQL = """
    UPDATE message_outbox SET state = $2, attempts = $3, last_error = $4, done_at = now()
    WHERE message_id = $1
"""
PENDING_SQL = """
    SELECT attempts, last_error FROM message_outbox WHERE message_id = $1 AND state = 'pending'
"""


async def sending_state(pool: asyncpg.Pool, message_id: UUID) -> tuple[int, str | None] | None:
    """(attempts so far, why the last one did not send) of a message still being sent, or
    None. The reasons are ours ("HTTP 503", "postponed: …"), never a provider's reply."""
    row = await pool.fetchrow(PENDING_SQL, message_id)
    return None if row is None else (row["attempts"], row["last_error"])
WORKER = "message-sender"
MAX_BACKOFF = timedelta(hours=1)
NO_PROVIDER_RETRY = timedelta(minutes=1)


class Payload(msgspec.Struct):
    message_id: str
    channel: str
    to: str
    subject: str | None
    body: str


class SenderStats:
    def __init__(self) -> None:
        self.sent = self.retried = self.failed = self.quarantined = 0


def utc_now() -> datetime:
    return datetime.now(UTC)


class MessageSender:
    """See the module docstring. ``start()``/``stop()`` around the process's life."""

    def __init__(self, pool: asyncpg.Pool, cases: CaseService, data_keys: DataKeys, *,
                 secret: str, sms_url: str | None, email_url: str | None,
                 backoff: float = 2.0, max_attempts: int = 32, batch_size: int = 50,
                 concurrency: int = 8, poll_interval: float = 0.5, timeout: float = 10.0,
                 takeover_interval: float = 1.5,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.pool, self.cases, self.data_keys = pool, cases, data_keys
        self.secret = secret
        self.urls = {"sms": sms_url, "email": email_url}
        self.backoff, self.max_attempts = backoff, max_attempts
        self.batch_size, self.poll_interval = batch_size, poll_interval
        self.timeout, self.takeover_interval = timeout, takeover_interval
        self.clock = clock
        self.stats = SenderStats()
        self._limit = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None
        self.owner = False
        self.guard = PoisonGuard(pool, WORKER)
        self.supervisor = Supervisor(WORKER, self._own_and_send)

    # ---- life -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                             trust_env=False)
        await self.supervisor.start()

    async def stop(self) -> None:
        await self.supervisor.stop()
        self.owner = False
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def status(self) -> WorkerStatus:
        """For ``/ready``: how the supervised sender loop is doing."""
        return self.supervisor.status()

    async def _own_and_send(self) -> None:
        """The supervised body: own the lock, then send until stopped. Any failure (database
        gone, lock connection broken) raises; the supervisor restarts it with backoff."""
        async with self.pool.acquire() as lock_conn:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                self.owner = False
                await asyncio.sleep(self.takeover_interval)
            self.owner = True
            try:
                while True:
                    handled = await self.run_once()
                    if lock_conn.is_closed():
                        raise ConnectionError("the sender's lock connection closed")
                    if handled < self.batch_size:
                        await asyncio.sleep(self.poll_interval)
            finally:
                self.owner = False
                if not lock_conn.is_closed():
                    with contextlib.suppress(Exception):
                        await lock_conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)

    # ---- one pass -------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send every due row of one batch (quarantined ones left out); returns how many."""
        held = list(await self.guard.held())
        rows = await self.pool.fetch(DUE_SQL, self.clock(), self.batch_size, held)
        await asyncio.gather(*(self._guarded(row) for row in rows))
        return len(rows)

    async def _guarded(self, row: asyncpg.Record) -> None:
        """One message as a poison-guarded item: a message failing on its own three times is
        quarantined (``worker_quarantine``, ``ledger workers status``); a transient failure
        (database, network) propagates and the supervisor retries the whole loop later."""
        async with self._limit:
            done, _ = await self.guard.attempt(str(row["message_id"]),
                                               lambda: self._handle(row),
                                               tenant_id=row["tenant_id"])
            if not done:
                self.stats.quarantined += 1

    async def _handle(self, row: asyncpg.Record) -> None:
        message_id, tenant_id, case_id = row["message_id"], row["tenant_id"], row["case_id"]
        attempts = row["attempts"]
        now = self.clock()
        try:
            case = await self.cases.load(tenant_id, case_id)
        except CaseNotFound as error:
            # Not a passing failure: set it aside at once.
            await self.guard.failed(str(message_id), error, tenant_id=tenant_id, at_once=True)
            self.stats.quarantined += 1
            return
        record = case.message(message_id)
        if record.sent_at is not None:
            await self.pool.execute(DONE_SQL, message_id, "sent", attempts, None)
            return
        decision = case.sending_decision(message_id, now)
        if not decision.send:
            rules = ", ".join(r.rule for r in decision.reasons)
            if decision.retry_at is not None:
                await self.pool.execute(RETRY_SQL, message_id, attempts, decision.retry_at,
                                        f"postponed: {rules}")
            else:
                await self._fail(tenant_id, case_id, message_id, attempts,
                                 f"contact no longer allowed: {rules}")
            return
        key = (await self.data_keys.get([case_id])).get(case_id)
        content = open_content(key, case_id, tenant_id, record.content)
        if content is None:
            await self._fail(tenant_id, case_id, message_id, attempts, "personal data erased")
            return
        url = self.urls.get(str(record.channel))
        if url is None:
            await self.pool.execute(RETRY_SQL, message_id, attempts, now + NO_PROVIDER_RETRY,
                                    f"no {record.channel} provider configured")
            return
        body = msgspec.json.encode(Payload(str(message_id), str(record.channel), content.to,
                                           content.subject, content.body))
        attempts += 1
        error = await self._post(url, str(message_id), body)
        if error is None:
            await self._sent(tenant_id, case_id, message_id, attempts)
        elif attempts >= self.max_attempts:
            await self._fail(tenant_id, case_id, message_id, attempts,
                             f"provider refused {attempts} times: {error}")
        else:
            self.stats.retried += 1
            delay = min(timedelta(seconds=self.backoff * 2 ** (attempts - 1)), MAX_BACKOFF)
            retry_at = self.clock() + delay * random.uniform(0.8, 1.2)
            await self.pool.execute(RETRY_SQL, message_id, attempts, retry_at, error)

    async def _post(self, url: str, message_id: str, body: bytes) -> str | None:
        """None on a 2xx, else a short description (never the response body)."""
        assert self._client is not None, "start() the sender first"
        headers = {"content-type": "application/json",
                   **signature_headers(self.secret, message_id, self.clock(), body)}
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return type(error).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _context(self, tenant_id: str) -> Context:
        return Context(tenant_id, ACTOR, uuid.uuid4())

    async def _sent(self, tenant_id: str, case_id: UUID, message_id: UUID, attempts: int) -> None:
        def command(case: Case, now: datetime) -> bool:
            return case.record_message_sent(message_id=message_id, attempts=attempts,
                                            sent_at=now)

        async def also(conn: asyncpg.Connection, case: Case, result: Any) -> None:
            await conn.execute(DONE_SQL, message_id, "sent", attempts, None)

        await self.cases.execute(self._context(tenant_id), case_id, command, _no_reply,
                                 also=also)
        # No event (already recorded) means no transaction ran: settle the row anyway.
        await self.pool.execute(DONE_SQL, message_id, "sent", attempts, None)
        self.stats.sent += 1

    async def _fail(self, tenant_id: str, case_id: UUID, message_id: UUID, attempts: int,
                    detail: str) -> None:
        def command(case: Case, now: datetime) -> bool:
            return case.record_message_failed(message_id=message_id, status="failed",
                                              failed_at=now, detail=detail)

        await self.cases.execute(self._context(tenant_id), case_id, command, _no_reply)
        await self.pool.execute(DONE_SQL, message_id, "failed", attempts, detail)
        self.stats.failed += 1


def _no_reply(case: Case, result: Any) -> tuple[int, bytes]:
    return 200, b""
