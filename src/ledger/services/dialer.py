"""The dialer list: cases whose next action is a due call, allowed at the instant asked.

``rm_dialer`` (strategies projection) narrows the search to cases inside a due-call window,
most overdue first; each candidate is then judged on its own events, now: its plan in the
active strategy (``Case.plan``) and contact permission at ``at`` (the compliance rules),
with ``allowed_until`` from the same rules. Candidates are read in pages until ``limit``
rows qualify or the candidates run out.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.compliance import permission
from ledger.domain.strategy.dialing import allowed_until
from ledger.domain.strategy.document import Action
from ledger.domain.values import Channel
from ledger.services.cases import CaseService
from ledger.services.strategies import StrategyService

CANDIDATES_SQL = """
    SELECT case_id, due_at FROM rm_dialer
    WHERE tenant_id = $1 AND due_at <= $2 AND (until IS NULL OR until > $2)
      AND ($3::text IS NULL OR assigned_to = $3)
      AND (due_at, case_id) > ($4, $5)
    ORDER BY due_at, case_id LIMIT $6
"""
EPOCH = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
MIN_PAGE = 200
MAX_CANDIDATES = 20_000
"""A bound on the work of one request when most candidates are not callable at ``at``."""


class DialerRow(msgspec.Struct, frozen=True):
    case_id: UUID
    external_ref: str
    phone: str
    segment: str
    arm: str
    due_at: datetime
    allowed_until: datetime | None


async def dialer_list(pool: asyncpg.Pool, service: CaseService, strategies: StrategyService,
                      tenant_id: str, at: datetime, limit: int,
                      agent_id: str | None = None) -> list[DialerRow]:
    """Up to ``limit`` callable cases at ``at`` (only ``agent_id``'s when given)."""
    active = await strategies.active(tenant_id)
    rows: list[DialerRow] = []
    if not active:
        return rows
    after: tuple[datetime, UUID] = (EPOCH, UUID(int=0))
    size = max(limit, MIN_PAGE)
    for _ in range(MAX_CANDIDATES // size):
        page = await pool.fetch(CANDIDATES_SQL, tenant_id, at, agent_id, *after, size)
        if not page:
            break
        after = (page[-1]["due_at"], page[-1]["case_id"])
        loaded = await service.read_many(tenant_id, [r["case_id"] for r in page])
        for record in page:
            case = loaded.get(record["case_id"])
            if case is None or (agent_id is not None and case.assigned_to != agent_id):
                continue
            plan = case.plan(active, at, with_allowed_at=False)
            if plan is None or plan.next is None or plan.next.action is not Action.CALL:
                continue
            if plan.next.due_at > at or not permission(case, Channel.PHONE, at).allowed:
                continue
            debtor = case.debtor
            if debtor is None or case.personal_data_erased or not debtor.phones:
                continue
            rows.append(DialerRow(case.id, case.external_ref, debtor.phones[0], plan.segment,
                                  plan.arm, plan.next.due_at,
                                  allowed_until(case, Channel.PHONE, at)))
            if len(rows) == limit:
                return rows
        if len(page) < size:
            break
    return rows
