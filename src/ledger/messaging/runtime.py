"""The messaging workers of one ``ledger serve`` process: the sender, the address index and
the validation-notice sweep. Built once with the app's pool, store and services."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ledger.config import Settings
from ledger.domain.case import Case
from ledger.domain.messaging.validation_period import NOTICE_DEADLINE_DAYS
from ledger.eventstore import EventStore
from ledger.messaging.addresses import AddressIndexProjection, digest_key
from ledger.messaging.sender import MessageSender
from ledger.messaging.signing import derived_secret
from ledger.privacy import DataKeys, DebtorCipher
from ledger.projections.runner import ProjectionRunner
from ledger.services.cases import CaseNotFound, CaseService, Context, RetriesExhausted
from ledger.workers import PoisonGuard, Supervisor

log = logging.getLogger("ledger.messages")
SWEEP_ACTOR = "system:scheduler"
SWEEP_WORKER = "validation-notice-sweep"
SWEEP_EVERY_SECONDS = 60.0
DUE_NOTICES_SQL = """
    SELECT tenant_id, case_id FROM rm_validation_notices
    WHERE notice_sent_at IS NULL AND NOT flagged AND first_communication_at < $1
    ORDER BY first_communication_at LIMIT $2
"""
SETTLE_SQL = "UPDATE rm_validation_notices SET flagged = true WHERE case_id = $1"


def _render(case: Case, result: Any) -> tuple[int, bytes]:
    return 200, b""


async def sweep_late_notices(pool: asyncpg.Pool, cases: CaseService, now: datetime, *,
                             limit: int = 500, guard: PoisonGuard | None = None) -> int:
    """Record ``validation_notice_late`` on cases whose deadline passed without a notice.

    Each case is a poison-guarded item: one that cannot be loaded (e.g. its key is under
    another master key) is quarantined after three passes and the others are still checked;
    a database failure propagates (the supervisor retries the pass).
    """
    guard = guard or PoisonGuard(pool, SWEEP_WORKER)
    held = await guard.held()
    flagged = 0
    cutoff = now - timedelta(days=NOTICE_DEADLINE_DAYS)
    correlation_id = uuid.uuid4()
    for tenant_id, case_id in await pool.fetch(DUE_NOTICES_SQL, cutoff, limit):
        if str(case_id) in held:
            continue
        found: list[bool] = []

        def flag(case: Case, clock_now: datetime, out: list[bool] = found) -> None:
            out.append(case.flag_late_validation_notice(min(now, clock_now)))

        async def check(tenant_id: str = tenant_id, case_id: Any = case_id) -> None:
            try:
                await cases.execute(Context(tenant_id, SWEEP_ACTOR, correlation_id), case_id,
                                    flag, _render)
            except (CaseNotFound, RetriesExhausted) as error:
                log.warning("validation notice check of %s skipped: %s", case_id,
                            type(error).__name__)

        done, _ = await guard.attempt(str(case_id), check, tenant_id=tenant_id)
        if done:
            flagged += any(found)
            # Settled (flagged now, or not a US case / a notice found on the case).
            await pool.execute(SETTLE_SQL, case_id)
    return flagged


class MessagingWorkers:
    """Start/stop the messaging background work of this process."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, store: EventStore,
                 cases: CaseService, data_keys: DataKeys, cipher: DebtorCipher,
                 server_secret: bytes) -> None:
        self.pool, self.cases = pool, cases
        self.address_key = digest_key(server_secret)
        self.sender = MessageSender(
            pool, cases, data_keys, secret=settings.message_secret or derived_secret(server_secret),
            sms_url=settings.sms_url, email_url=settings.email_url,
            backoff=settings.sender_backoff)
        self.addresses = ProjectionRunner(
            pool, store, [AddressIndexProjection(cipher, self.address_key)],
            codec=cases.repository.codec)
        self.sweep_guard = PoisonGuard(pool, SWEEP_WORKER)
        self.sweep = Supervisor(SWEEP_WORKER, self._sweep_forever)
        self.workers = [self.sender, self.sweep]
        """Supervised workers, for ``/ready`` (the address index runs in a ProjectionRunner)."""

    async def start(self) -> None:
        """All three, independent of ``LEDGER_RUN_PROJECTIONS``: each has one owner across
        processes (advisory locks) or is idempotent (the sweep), so any process may run them."""
        await self.addresses.start()
        await self.sweep.start()
        await self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        await self.sweep.stop()
        await self.addresses.stop()

    async def _sweep_forever(self) -> None:
        """The supervised body: a failed pass raises and is restarted with backoff."""
        while True:
            await sweep_late_notices(self.pool, self.cases, self.cases.clock(),
                                     guard=self.sweep_guard)
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
