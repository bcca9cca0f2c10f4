"""Strategies: save versions, activate them, and know which are in force per tenant.

Strategies are few per tenant and read on every case write (to re-segment the case), so
the active ones are cached per process and re-read when older than ``ACTIVE_TTL`` — from the
event store itself, through a small partial index, so a strategy saved or activated by any
process is seen without waiting for a projection. Writes in this process refresh at once.
Activation takes a per-tenant advisory lock, so two overlapping activations cannot both pass
the conflict check.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Collection
from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.domain.strategy.aggregate import Strategy, strategy_id_for
from ledger.domain.strategy.document import StrategyDocument
from ledger.domain.strategy.evaluation import ActiveStrategy
from ledger.eventstore import AggregateNotFound, ConcurrencyConflict, IdempotencyRecord, Repository
from ledger.services.cases import Context, Idempotency, Reply, utc_now

ACTIVE_TTL = 1.0
"""Seconds another process's activation may take to reach this one's writes (the day sweep
re-segments anything missed)."""
STREAMS_SQL = """
    SELECT originator_id FROM stored_events
    WHERE tenant_id = $1 AND topic LIKE 'ledger.domain.strategy.%' AND originator_version = 1
"""
KNOWN_MODELS_SQL = "SELECT model FROM rm_score_models WHERE tenant_id = $1"
LOCK_NAMESPACE = 0x5354  # "ST": advisory locks of strategy activation
SAVE_ATTEMPTS = 8
FULL_RUN_SQL = """
    INSERT INTO strategy_sweeps (tenant_id, run_to, run_zones, after_case, cases_seen, cases_moved)
    VALUES ($1, $2, NULL, NULL, 0, 0)
    ON CONFLICT (tenant_id) DO UPDATE SET run_to = $2, run_zones = NULL, after_case = NULL,
        cases_seen = 0, cases_moved = 0
"""


RenderSaved = Callable[[Strategy, list[str]], tuple[int, bytes]]


def _reply(render: RenderSaved | None, idempotency: Idempotency | None, strategy: Strategy,
           warnings: list[str]) -> tuple[Reply | None, IdempotencyRecord | None]:
    if render is None:
        return None, None
    status, body = render(strategy, warnings)
    record = None if idempotency is None else IdempotencyRecord(
        idempotency.key, idempotency.request_hash, status, body)
    return Reply(status, body, recorded=record is not None), record


class StrategyNotFound(Exception):
    """No such strategy in this tenant."""


class StrategyService:
    """Saving, activating and looking up strategies."""

    def __init__(self, repository: Repository, pool: asyncpg.Pool,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.repository = repository
        self.pool = pool
        self.clock = clock
        self._active: dict[str, tuple[float, list[ActiveStrategy]]] = {}
        self.on_activation: Callable[[str], None] | None = None
        """Called with the tenant after an activation (wakes the re-segmenting sweep)."""

    async def all(self, tenant_id: str) -> list[Strategy]:
        """Every strategy of the tenant, by name."""
        rows = await self.repository.store.fetch(STREAMS_SQL, tenant_id)
        found = await self.repository.load_many([r[0] for r in rows], tenant_id=tenant_id)
        return sorted(found.values(), key=lambda s: s.name)

    async def get(self, tenant_id: str, strategy_id: UUID) -> Strategy:
        try:
            strategy = await self.repository.load(strategy_id, tenant_id=tenant_id)
        except AggregateNotFound:
            raise StrategyNotFound(str(strategy_id)) from None
        if not isinstance(strategy, Strategy):
            raise StrategyNotFound(str(strategy_id))
        return strategy

    async def active(self, tenant_id: str, *, fresh: bool = False) -> list[ActiveStrategy]:
        """The versions in force for the tenant (cached for ``ACTIVE_TTL`` seconds)."""
        cached = self._active.get(tenant_id)
        now = time.monotonic()
        if cached is not None and not fresh and now - cached[0] < ACTIVE_TTL:
            return cached[1]
        found = [a for s in await self.all(tenant_id) if (a := s.active()) is not None]
        self._active[tenant_id] = (now, found)
        return found

    async def known_models(self, tenant_id: str) -> set[str]:
        return {r[0] for r in await self.pool.fetch(KNOWN_MODELS_SQL, tenant_id)}

    async def save(self, ctx: Context, document: StrategyDocument, *,
                   templates: Collection[str] | None, idempotency: Idempotency | None = None,
                   render: RenderSaved | None = None) -> tuple[Strategy, int, list[str], Reply | None]:
        """Validate and append ``document`` as the next version of the strategy of its name.

        With ``render`` the reply is rendered before the append and stored with it as the
        idempotency record (a retried save then appends nothing)."""
        known = await self.known_models(ctx.tenant_id)
        for _ in range(SAVE_ATTEMPTS):
            now = self.clock()
            try:
                strategy = await self.get(ctx.tenant_id, strategy_id_for(ctx.tenant_id, document.name))
            except StrategyNotFound:
                strategy = Strategy.register(tenant_id=ctx.tenant_id, name=document.name, now=now)
            warnings = strategy.save_version(document, now, templates=templates, known_models=known)
            reply, record = _reply(render, idempotency, strategy, warnings)
            try:
                await self.repository.save(strategy, tenant_id=ctx.tenant_id, actor=ctx.actor,
                                           correlation_id=ctx.correlation_id, idempotency=record)
            except ConcurrencyConflict:
                continue  # another save of the same name won: become the version after it
            return strategy, strategy.latest_version, warnings, reply
        raise ConcurrencyConflict("strategy kept changing")

    async def activate(self, ctx: Context, strategy_id: UUID, version: int) -> tuple[Strategy, bool]:
        """Put ``version`` in force (``409 strategy_conflict`` if portfolios overlap)."""
        key = zlib.crc32(ctx.tenant_id.encode()) - 2**31  # int4, as pg_advisory_lock takes
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_NAMESPACE, key)
            try:
                strategy = await self.get(ctx.tenant_id, strategy_id)
                others = await self.active(ctx.tenant_id, fresh=True)
                changed = strategy.activate(version, others, self.clock())
                if changed:
                    await self.repository.save(strategy, tenant_id=ctx.tenant_id, actor=ctx.actor,
                                               correlation_id=ctx.correlation_id)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_NAMESPACE, key)
        await self.active(ctx.tenant_id, fresh=True)
        if changed:
            # Existing cases move in the sweep: every open case of the tenant, from the start.
            await self.pool.execute(FULL_RUN_SQL, ctx.tenant_id, self.clock())
            if self.on_activation is not None:
                self.on_activation(ctx.tenant_id)
        return strategy, changed

    def forget(self, tenant_id: str) -> None:
        self._active.pop(tenant_id, None)


