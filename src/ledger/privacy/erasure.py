"""Erase a debtor's personal data: destroy the case's data key, then record the fact.

Order matters for crash safety. The key is destroyed first, together with everything that
may hold the personal data in another form — the case's snapshots (sealed, but written
before) and stored idempotency replies (a placement's reply is a case view with the debtor) —
in one transaction. Only then is ``PersonalDataErased`` appended. A crash in between leaves
the data unreadable without the event; a retry finds the case not yet marked and completes.
The events, their ciphertext and the hash chain are untouched, so verification still passes.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from ledger.domain.case import Case
from ledger.domain.errors import DomainError
from ledger.privacy.keys import DESTROY_KEY_SQL, DataKeys
from ledger.services.cases import CaseService, Context, Idempotency, Reply, Render, VersionMismatch

DELETE_SNAPSHOTS_SQL = "DELETE FROM snapshots WHERE originator_id = $1"
# Replies are JSON that name the case by its id; only this tenant's records are searched.
DELETE_REPLIES_SQL = """
    DELETE FROM idempotency_keys
    WHERE tenant_id = $1 AND position(convert_to($2::text, 'UTF8') IN response) > 0
"""


class AlreadyErased(DomainError):
    """The case's personal data was erased before."""

    code = "already_erased"


async def destroy_personal_data(pool: asyncpg.Pool, data_keys: DataKeys, tenant_id: str,
                                case_id: UUID) -> None:
    """Destroy the key and the case's other copies of personal data (idempotent)."""
    async with pool.acquire() as conn, conn.transaction():
        await data_keys.destroy(case_id, tenant_id, conn.fetch)
        await conn.execute(DELETE_SNAPSHOTS_SQL, case_id)
        await conn.execute(DELETE_REPLIES_SQL, tenant_id, str(case_id))
    data_keys.forget(case_id)


async def erase(pool: asyncpg.Pool, data_keys: DataKeys, service: CaseService, ctx: Context,
                case_id: UUID, reason: str, render: Render, *,
                idempotency: Idempotency | None = None,
                expected_version: int | None = None) -> Reply:
    """Erase the personal data of a case of ``ctx.tenant_id``; ``render`` makes the reply."""
    case = await service.load(ctx.tenant_id, case_id)  # CaseNotFound for another tenant
    if expected_version is not None and case.version != expected_version:
        raise VersionMismatch(case.version)
    if case.personal_data_erased:
        raise AlreadyErased("the personal data of this case is already erased")
    await destroy_personal_data(pool, data_keys, ctx.tenant_id, case_id)

    def command(case: Case, now: datetime) -> datetime:
        if case.personal_data_erased:
            raise AlreadyErased("the personal data of this case is already erased")
        case.erase_personal_data(reason=reason, erased_at=now)
        return now

    return await service.execute(ctx, case_id, command, render, idempotency=idempotency,
                                 expected_version=expected_version)
