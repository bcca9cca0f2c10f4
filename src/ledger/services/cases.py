"""Run commands against cases: load → domain command → append, retrying on conflicts.

Writers to one case in this process take turns on an in-process lock, so they do not make
each other retry; writers in other processes are caught by the store's version check
(``ConcurrencyConflict``), after which the command runs again on the reloaded case. Either
way no update is lost. ``now`` is read here, never in the domain.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid5

import msgspec

from ledger.domain.case import Case
from ledger.domain.errors import DomainError
from ledger.services.case_cache import DEFAULT_CAPACITY, CaseCache
from ledger.eventstore import (
    AggregateNotFound,
    ConcurrencyConflict,
    IdempotencyRecord,
    Repository,
)

R = TypeVar("R")
log = logging.getLogger("ledger.cases")
FOLLOW_UP_ACTOR = "system:strategy"

# Fixed forever: case ids of every existing tenant are derived from it.
CASE_NAMESPACE = UUID("6f1d0c52-3c1e-4f0b-9a57-0b6c4ad1e7c3")
MAX_ATTEMPTS = 64
RETRY_BUDGET_SECONDS = 10.0


def case_id_for(tenant_id: str, external_ref: str) -> UUID:
    """The case id of ``external_ref`` in ``tenant_id`` (so a re-placement collides)."""
    return uuid5(CASE_NAMESPACE, f"{tenant_id}\x00{external_ref}")


def utc_now() -> datetime:
    return datetime.now(UTC)


class CaseNotFound(Exception):
    """No such case in this tenant (another tenant's case is not found either)."""


class VersionMismatch(Exception):
    """``If-Match`` named a version that is not the case's current one."""

    def __init__(self, current: int) -> None:
        super().__init__(f"case is at version {current}")
        self.current = current


class RetriesExhausted(Exception):
    """The case kept changing under us for the whole retry budget."""


class Context(msgspec.Struct, frozen=True):
    """Who is acting and for which request; recorded on every event."""

    tenant_id: str
    actor: str
    correlation_id: UUID


class Idempotency(msgspec.Struct, frozen=True):
    key: str
    request_hash: bytes


class Reply(msgspec.Struct, frozen=True):
    """A rendered response; ``recorded`` means its idempotency record was stored with it."""

    status: int
    body: bytes
    recorded: bool = False


Render = Callable[[Case, Any], tuple[int, bytes]]
AlsoInTransaction = Callable[[Any, Case, Any], Awaitable[None]]
"""``(connection, case, result)``: writes that must commit with the events (an outbox row)."""


class FollowUp(Protocol):
    """What runs on a case after each stored write (contact strategies re-segment it).

    ``prepare(tenant_id)`` returns a command to run on the case (or None); its events are
    appended separately with the actor ``system:strategy``: a decision Ledger took because of
    the fact, not part of it. If that append fails the fact still stands, and the strategy
    sweep makes the same decision later.
    """

    async def prepare(self, tenant_id: str) -> Callable[[Case, datetime], object] | None: ...


class CaseService:
    """Commands and strongly consistent reads of single cases."""

    def __init__(self, repository: Repository, clock: Callable[[], datetime] = utc_now, *,
                 cache_size: int = DEFAULT_CAPACITY) -> None:
        self.repository = repository
        self.clock = clock
        self.cache = CaseCache(cache_size)
        self._locks: weakref.WeakValueDictionary[UUID, asyncio.Lock] = weakref.WeakValueDictionary()
        self.follow_up: FollowUp | None = None

    def _lock(self, case_id: UUID) -> asyncio.Lock:
        lock = self._locks.get(case_id)
        if lock is None:
            lock = self._locks[case_id] = asyncio.Lock()
        return lock

    async def load(self, tenant_id: str, case_id: UUID) -> Case:
        """The case now. Render it before the next ``await``: the object is shared and a
        command may be applied to it as soon as this coroutine yields."""
        async with self._lock(case_id):
            case, _ = await self._load_locked(tenant_id, case_id)
            return case

    async def _load_locked(self, tenant_id: str, case_id: UUID, *,
                           refresh: bool = True) -> tuple[Case, bool]:
        """The case, and whether it was just brought up to date from the database.

        With ``refresh=False`` a cached case is returned as it is: good enough for a command,
        because the append only succeeds if no one else wrote the case since.
        """
        case = self.cache.get(case_id)
        if case is not None and not refresh and case.tenant_id == tenant_id:
            return case, False
        try:
            if case is not None:
                case = await self.repository.refresh(case, tenant_id=tenant_id)
            else:
                case = await self._load_case(case_id, tenant_id)
                self.cache.put(case)
        except AggregateNotFound:
            self.cache.drop(case_id)
            raise CaseNotFound(str(case_id)) from None
        except BaseException:
            self.cache.drop(case_id)
            raise
        if case.tenant_id != tenant_id:  # the store filters too; never trust one check
            raise CaseNotFound(str(case_id))
        return case, True

    async def _load_case(self, case_id: UUID, tenant_id: str) -> Case:
        """The case of that id; any other stream's id (a policy's, a template's: the feed
        shows them too) is not found rather than replayed as a case."""
        case = await self.repository.load(case_id, tenant_id=tenant_id)
        if not isinstance(case, Case):
            raise AggregateNotFound(str(case_id))
        return case

    async def load_many(self, tenant_id: str, case_ids: list[UUID]) -> dict[UUID, Case]:
        """Many cases in one round trip; other tenants' and unknown ids are absent."""
        found = await self.repository.load_many(case_ids, tenant_id=tenant_id)
        return {i: c for i, c in found.items()
                if isinstance(c, Case) and c.tenant_id == tenant_id}

    async def read_many(self, tenant_id: str, case_ids: list[UUID]) -> dict[UUID, Case]:
        """Many cases, current, through the cache: cached ones are brought up to date in one
        round trip, the rest loaded in another. For reads only: render each case before the
        next ``await`` (as with ``load``)."""
        cached = [c for i in case_ids if (c := self.cache.get(i)) is not None
                  and c.tenant_id == tenant_id and not c.pending_events
                  and not self._lock(i).locked()]
        found = {c.id: c for c in await self.repository.refresh_many(cached, tenant_id=tenant_id)}
        missing = [i for i in case_ids if i not in found]
        if missing:
            for case_id, case in (await self.load_many(tenant_id, missing)).items():
                found[case_id] = case
                self.cache.put(case)
        return found

    async def execute(
        self,
        ctx: Context,
        case_id: UUID,
        command: Callable[[Case, datetime], R],
        render: Render,
        *,
        idempotency: Idempotency | None = None,
        expected_version: int | None = None,
        also: AlsoInTransaction | None = None,
    ) -> Reply:
        """Run ``command(case, now)`` and append what it triggered; return ``render``'s reply.

        The reply is rendered before the append so that it can be stored atomically with
        the events as the idempotency record. Domain errors propagate unchanged. ``also``
        runs in the append's transaction (only when there are events to append).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_BUDGET_SECONDS
        async with self._lock(case_id):
            refresh = expected_version is not None
            for attempt in range(MAX_ATTEMPTS):
                case, current = await self._load_locked(ctx.tenant_id, case_id, refresh=refresh)
                refresh = True
                if expected_version is not None and case.version != expected_version:
                    raise VersionMismatch(case.version)
                try:
                    result = command(case, self.clock())
                    status, body = render(case, result)
                    if not case.pending_events:
                        return Reply(status, body)
                    record = None
                    if idempotency is not None:
                        record = IdempotencyRecord(idempotency.key, idempotency.request_hash, status, body)
                    if also is None:
                        await self.repository.save(
                            case, tenant_id=ctx.tenant_id, actor=ctx.actor,
                            correlation_id=ctx.correlation_id, idempotency=record,
                        )
                    else:
                        await self._save_with(ctx, case, result, record, also)
                except BaseException as error:
                    if case.pending_events:
                        # Facts that were not stored must never be served from the cache.
                        self.cache.drop(case_id)
                    if isinstance(error, DomainError) and not current:
                        continue  # refused on cached state: judge again on the current one
                    if not isinstance(error, ConcurrencyConflict):
                        raise
                    if expected_version is not None:
                        # The version the client saw was current, but another writer won.
                        raise VersionMismatch(expected_version + 1) from None
                    if loop.time() > deadline:
                        break
                    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
                    continue
                await self._follow(ctx, [case])
                return Reply(status, body, recorded=record is not None)
        raise RetriesExhausted(str(case_id))

    async def _save_with(self, ctx: Context, case: Case, result: Any,
                         record: IdempotencyRecord | None, also: AlsoInTransaction) -> None:
        store = self.repository.store
        try:
            async with store.pool.acquire() as conn, conn.transaction():
                await self.repository.save(
                    case, tenant_id=ctx.tenant_id, actor=ctx.actor,
                    correlation_id=ctx.correlation_id, idempotency=record, connection=conn,
                )
                await also(conn, case, result)
        except BaseException:
            # The events may be collected from the object although the transaction rolled
            # back: this object must never be served again.
            self.cache.drop(case.id)
            raise
        store.notify_appended()

    async def place(
        self,
        ctx: Context,
        case: Case,
        render_new: Render,
        render_existing: Callable[[Case, Case], tuple[int, bytes]],
        *,
        idempotency: Idempotency | None = None,
    ) -> Reply:
        """Store a new case; if its id exists, ``render_existing(existing, new)`` decides."""
        status, body = render_new(case, None)
        record = None
        if idempotency is not None:
            record = IdempotencyRecord(idempotency.key, idempotency.request_hash, status, body)
        try:
            await self.repository.save(
                case, tenant_id=ctx.tenant_id, actor=ctx.actor,
                correlation_id=ctx.correlation_id, idempotency=record,
            )
        except ConcurrencyConflict:
            existing = await self.load(ctx.tenant_id, case.id)
            return Reply(*render_existing(existing, case))
        self.cache.put(case)
        async with self._lock(case.id):
            await self._follow(ctx, [case])
        return Reply(status, body, recorded=record is not None)

    async def place_many(self, ctx: Context, cases: list[Case]) -> tuple[list[Case], dict[UUID, Case]]:
        """Store new cases in one append; returns (stored, existing cases by id).

        Cases whose id already exists are not stored: the caller compares them with the
        existing ones (duplicate or conflict). If another writer places one of them meanwhile,
        the batch falls back to one append per case so the others still get stored.
        """
        existing = await self.load_many(ctx.tenant_id, [c.id for c in cases])
        fresh = [c for c in cases if c.id not in existing]
        if not fresh:
            return [], existing
        try:
            await self.repository.save(
                *fresh, tenant_id=ctx.tenant_id, actor=ctx.actor, correlation_id=ctx.correlation_id
            )
            await self._follow(ctx, fresh)
            return fresh, existing
        except ConcurrencyConflict:
            pass
        stored = []
        for case in fresh:
            try:
                await self.repository.save(
                    case, tenant_id=ctx.tenant_id, actor=ctx.actor, correlation_id=ctx.correlation_id
                )
                stored.append(case)
            except ConcurrencyConflict:
                existing[case.id] = await self.load(ctx.tenant_id, case.id)
        await self._follow(ctx, stored)
        return stored, existing

    async def _follow(self, ctx: Context, cases: list[Case]) -> None:
        """Run the follow-up (if any) on freshly stored ``cases`` and append what it triggers."""
        if self.follow_up is None or not cases:
            return
        changed: list[Case] = []
        try:
            step = await self.follow_up.prepare(ctx.tenant_id)
            if step is None:
                return
            now = self.clock()
            for case in cases:
                step(case, now)
            changed = [case for case in cases if case.pending_events]
            if not changed:
                return
            await self.repository.save(*changed, tenant_id=ctx.tenant_id, actor=FOLLOW_UP_ACTOR,
                                       correlation_id=ctx.correlation_id)
        except Exception as error:  # the fact is stored; the sweep repeats this decision
            log.warning("follow-up of %d case(s) not stored: %s", len(changed), type(error).__name__)
            for case in changed:
                case.collect_events()
                self.cache.drop(case.id)
