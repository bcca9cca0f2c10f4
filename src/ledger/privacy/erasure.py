"""Erase a debtor's personal data: destroy the case's data key, then record the fact.

Order matters for crash safety. The key is destroyed first, together with the case's
snapshots (sealed, but written before), in one transaction. Stored idempotency replies are
kept (a retry after erasure must still be a replay, not a second fact): their personal fields
are sealed with the same key (``ledger.privacy.replies``), and a reply stored in clear by an
older release is redacted in place in the same transaction, where the request hashes of
replies that carried the debtor are forgotten too. Only then is ``PersonalDataErased`` appended. A crash in between leaves
the data unreadable without the event; a retry finds the case not yet marked and completes.
The events, their ciphertext and the hash chain are untouched, so verification still passes.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from ledger.domain.case import Case
from ledger.domain.errors import DomainError
from ledger.privacy.keys import DataKeys
from ledger.privacy.replies import redact
from ledger.privacy.sealing import PERSONAL_FIELDS
from ledger.services.cases import CaseService, Context, Idempotency, Reply, Render, VersionMismatch

DELETE_SNAPSHOTS_SQL = "DELETE FROM snapshots WHERE originator_id = $1"
# Replies are JSON that name the case by its id; only this tenant's records are searched.
# One that carried the debtor came from a request that carried them too: its hash would let
# whoever holds the key confirm a guessed name or phone (a replay for the right one, 422 for
# a wrong one). Emptied, it matches any repeat of the key (``api.idempotency.replay``). The
# rows come back for the replies still in clear (written before sealing) to be redacted.
FORGET_REQUESTS_SQL = """
    UPDATE idempotency_keys SET request_hash = ''::bytea
    WHERE tenant_id = $1 AND position(convert_to($2::text, 'UTF8') IN response) > 0
      AND position('"debtor"'::bytea IN response) > 0
    RETURNING key, response
"""
REDACT_REPLY_SQL = "UPDATE idempotency_keys SET response = $3 WHERE tenant_id = $1 AND key = $2"
# The placement as stored: sealed by this release, in clear if an older one wrote it.
PLACEMENT_STATE_SQL = """
    SELECT state FROM stored_events WHERE originator_id = $1 AND originator_version = 1
"""


class AlreadyErased(DomainError):
    """The case's personal data was erased before."""

    code = "already_erased"


class NotErasable(DomainError):
    """The placement was stored in clear by an older release: destroying a key cannot erase it."""

    code = "not_erasable"


async def _placement_is_sealed(pool: asyncpg.Pool, case_id: UUID) -> bool:
    state = await pool.fetchval(PLACEMENT_STATE_SQL, case_id)
    if state is None:
        return True
    debtor = msgspec.json.decode(bytes(state)).get("debtor")
    return not isinstance(debtor, dict) or "sealed" in debtor or not any(
        debtor.get(name) for name in PERSONAL_FIELDS)


async def _forget_replies(conn: asyncpg.Connection, tenant_id: str, case_id: UUID) -> None:
    """Forget the request hashes of replies that carried the debtor, and redact those
    replies still in clear (sealed ones are unreadable once the key is gone)."""
    for key, response in await conn.fetch(FORGET_REQUESTS_SQL, tenant_id, str(case_id)):
        if b'"sealed"' in response:
            continue
        try:
            document = msgspec.json.decode(bytes(response))
        except msgspec.DecodeError:
            continue
        debtor = document.get("debtor") if isinstance(document, dict) else None
        if isinstance(debtor, dict):
            redact(debtor)
            await conn.execute(REDACT_REPLY_SQL, tenant_id, key, msgspec.json.encode(document))


async def destroy_personal_data(pool: asyncpg.Pool, data_keys: DataKeys, tenant_id: str,
                                case_id: UUID) -> None:
    """Destroy the key and the case's other copies of personal data (idempotent)."""
    async with pool.acquire() as conn, conn.transaction():
        await data_keys.destroy(case_id, tenant_id, conn.fetch)
        await conn.execute(DELETE_SNAPSHOTS_SQL, case_id)
        await _forget_replies(conn, tenant_id, case_id)
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
    if not await _placement_is_sealed(pool, case_id):
        # Events are append-only (the database refuses to rewrite them), so data stored in
        # clear cannot be erased by destroying a key; say so rather than claim an erasure.
        raise NotErasable(
            "this case was placed by an older release that stored the debtor's data "
            "unencrypted, so destroying its key cannot erase it: the schema owner runs "
            "`ledger redact-legacy <case id> --reason ...` (a signed, recorded redaction), "
            "then erase again; see README, \"Erasure\"")
    await destroy_personal_data(pool, data_keys, ctx.tenant_id, case_id)

    def command(case: Case, now: datetime) -> datetime:
        if case.personal_data_erased:
            raise AlreadyErased("the personal data of this case is already erased")
        case.erase_personal_data(reason=reason, erased_at=now)
        return now

    return await service.execute(ctx, case_id, command, render, idempotency=idempotency,
                                 expected_version=expected_version)
