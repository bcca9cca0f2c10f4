"""Helpers for the projection tests: write cases through the domain and store, run projections."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventCodec, EventStore
from ledger.projections import positions
from ledger.projections.framework import Projection, decode_rows
from ledger.projections import ProjectionRunner, all_projections
from ledger.projections.runner import apply_batch
import os
from ledger.services.repositories import case_repository

MASTER_KEY = os.urandom(32)  # the case repository always seals personal data

NOW = datetime(2026, 9, 1, tzinfo=UTC)
"""Every command runs with this as "now", so business times up to it are allowed."""


def at(text: str) -> datetime:
    """``2026-03-05`` or ``2026-03-05T10:00`` as an aware UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def place(tenant: str, ref: str, *, portfolio: str = "cards-a", placed_at: str = "2026-01-10",
          principal: int = 100_000, interest: int = 10_000, fees: int = 0,
          past_due_amount: int = 20_000, days_past_due: int = 45,
          timezone: str = "UTC") -> Case:
    return Case.place(
        case_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{ref}"), tenant_id=tenant,
        external_ref=ref, portfolio=portfolio, product="credit_card", currency="USD",
        principal=principal, interest=interest, fees=fees, past_due_amount=past_due_amount,
        days_past_due=days_past_due, placed_at=at(placed_at),
        debtor=Debtor(name="Ana Li", phones=("+15551234567",), timezone=timezone,
                      jurisdiction="US-TX"),
        now=NOW)


class Writer:
    """Saves cases for one tenant, with an actor per save."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.store = EventStore(pool)
        self.repository = case_repository(self.store, MASTER_KEY, snapshot_interval=None)
        self.tenant = tenant

    async def save(self, *cases: Case, actor: str = "user:test") -> None:
        await self.repository.save(*cases, tenant_id=self.tenant, actor=actor)

    async def change(self, case: Case, command: Callable[[Case], Any],
                     actor: str = "user:test") -> Case:
        """Run ``command`` on ``case`` and save what it triggered."""
        command(case)
        await self.save(case, actor=actor)
        return case


async def project_all(pool: asyncpg.Pool, projections: list[Projection],
                      batch_size: int = 500) -> None:
    """Bring ``projections`` up to the head of the feed, batch by batch, in this task."""
    store = EventStore(pool)
    for projection in projections:
        position = await positions.load(pool, projection.name)
        while rows := await store.read_all(position.cursor, batch_size):
            batch = decode_rows(EventCodec(), rows, position.events_applied)
            async with pool.acquire() as conn:
                position = await apply_batch(conn, [projection], [projection.name], position,
                                             batch)


async def caught_up_runner(pool: asyncpg.Pool) -> ProjectionRunner:
    """A runner over every projection, run until caught up with the feed, then stopped."""
    runner = ProjectionRunner(pool, EventStore(pool), all_projections())
    await runner.start()
    await runner.wait_until_caught_up()
    await runner.stop()
    return runner
