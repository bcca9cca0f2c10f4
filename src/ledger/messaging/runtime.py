"""The messaging workers of one ``ledger serve`` process: the sender, the address index and
the validation-notice sweep. Built once with the app's pool, store and services."""

from __future__ import annotations

import asyncio
import contextlib
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

log = logging.getLogger("ledger.messages")
SWEEP_ACTOR = "system:scheduler"
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
                             limit: int = 500) -> int:
    """Record ``validation_notice_late`` on cases whose deadline passed without a notice."""
    flagged = 0
    cutoff = now - timedelta(days=NOTICE_DEADLINE_DAYS)
    correlation_id = uuid.uuid4()
    for tenant_id, case_id in await pool.fetch(DUE_NOTICES_SQL, cutoff, limit):
        found: list[bool] = []

        def flag(case: Case, clock_now: datetime, out: list[bool] = found) -> None:
            out.append(case.flag_late_validation_notice(min(now, clock_now)))

        try:
            await cases.execute(Context(tenant_id, SWEEP_ACTOR, correlation_id), case_id, flag,
                                _render)
        except (CaseNotFound, RetriesExhausted) as error:
            log.warning("validation notice check of %s skipped: %s", case_id,
                        type(error).__name__)
            continue
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            raise  # the database, not the case: the next pass retries
        except Exception as error:
            # A case that cannot be loaded at all (e.g. a key under another master key) is
            # a poison item: reported and set aside, so the others are still checked.
            log.error("validation notice check of %s set aside: %s", case_id,
                      type(error).__name__)
        flagged += any(found)
        # Settled either way (flagged now, or not a US case / notice found on the case).
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
        self._sweep: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """All three, independent of ``LEDGER_RUN_PROJECTIONS``: each has one owner across
        processes (advisory locks) or is idempotent (the sweep), so any process may run them."""
        await self.addresses.start()
        self._sweep = asyncio.get_running_loop().create_task(self._sweep_forever())
        await self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        if self._sweep is not None:
            self._sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweep
            self._sweep = None
        await self.addresses.stop()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await sweep_late_notices(self.pool, self.cases, self.cases.clock())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # supervised: a failed pass never ends the loop
                log.warning("validation notice sweep failed: %s", type(error).__name__)
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
