"""Tamper evidence on a real database: each kind of tampering is named by its first bad version,
and the auditor's standalone script verifies an export."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from ledger.audit.export import export_lines
from ledger.audit.verify import verify_all, verify_case
from ledger.domain.case import Case
from ledger.domain.values import Debtor, PaymentMethod
from ledger.eventstore import EventCodec, EventStore, Repository
from ledger.privacy import DataKeys, DebtorCipher

SCRIPT = Path(__file__).parents[2] / "docs" / "verify_export.py"
MASTER = bytes(range(32))


async def _case_with_events(pool, tenant: str, payments: int = 5):
    store = EventStore(pool)
    cipher = DebtorCipher(DataKeys(store.fetch, MASTER))
    repository = Repository(store, cipher=cipher)
    start = datetime.now(UTC) - timedelta(days=30)
    case = Case.place(
        case_id=uuid4(), tenant_id=tenant, external_ref=f"X-{uuid4().hex[:8]}", portfolio="p",
        product="card", currency="USD", principal=100_000, interest=0, fees=0,
        past_due_amount=1000, days_past_due=40, placed_at=start,
        debtor=Debtor(name="Zed Quill", phones=("+15550009999",), timezone="UTC",
                      jurisdiction="US"))
    await repository.save(case, tenant_id=tenant, actor="test")
    for index in range(payments):
        case.receive_payment(external_id=f"P{index}", amount=100, currency="USD",
                             received_at=start + timedelta(days=index + 1),
                             method=PaymentMethod.ACH)
        await repository.save(case, tenant_id=tenant, actor="test")
    return store, cipher, case.id


EDIT_STATE = "UPDATE stored_events SET state = state || '\\x20'::bytea WHERE originator_id = $1 AND originator_version = 3"
DELETE_ROW = "DELETE FROM stored_events WHERE originator_id = $1 AND originator_version = 3"
EDIT_HASH = "UPDATE stored_events SET chain_hash = sha256(chain_hash) WHERE originator_id = $1 AND originator_version = 4"
SWAP = [
    "UPDATE stored_events SET originator_version = originator_version + 1000 WHERE originator_id = $1 AND originator_version IN (2, 3)",
    "UPDATE stored_events SET originator_version = 1005 - originator_version WHERE originator_id = $1 AND originator_version IN (1002, 1003)",
]
INSERT = [
    "UPDATE stored_events SET originator_version = originator_version + 100 WHERE originator_id = $1 AND originator_version >= 3",
    "UPDATE stored_events SET originator_version = originator_version - 99 WHERE originator_id = $1 AND originator_version >= 103",
    """INSERT INTO stored_events (originator_id, originator_version, topic, state, tenant_id, actor, chain_hash)
       SELECT originator_id, 3, topic, state, tenant_id, actor, chain_hash FROM stored_events
       WHERE originator_id = $1 AND originator_version = 2""",
]


@pytest.mark.parametrize(("statements", "first_bad"), [
    ([EDIT_STATE], 3), ([DELETE_ROW], 3), ([EDIT_HASH], 4), (SWAP, 2), (INSERT, 3),
], ids=["edited state", "deleted row", "edited hash", "swapped versions", "inserted row"])
async def test_each_kind_of_tampering_is_detected_at_its_first_bad_version(
        pool, tenant, statements, first_bad):
    store, _, case_id = await _case_with_events(pool, tenant)
    assert (await verify_case(store, tenant, case_id)).ok
    async with pool.acquire() as conn, conn.transaction():
        # stored_events refuses UPDATE/DELETE (migration 0050): tamper as a superuser would.
        await conn.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            await conn.execute(sql, case_id)
    result = await verify_case(store, tenant, case_id)
    assert not result.ok and result.first_bad_version == first_bad
    summary = await verify_all(pool.fetch, tenant_id=tenant)
    assert [(b.case_id, b.first_bad_version) for b in summary.bad] == [(case_id, first_bad)]


async def test_the_auditors_own_script_verifies_an_export_and_catches_an_edit(pool, tenant, tmp_path):
    store, cipher, case_id = await _case_with_events(pool, tenant)
    await _case_with_events(pool, tenant, payments=2)
    lines = [line async for line in export_lines(pool.fetch, EventCodec(), cipher, tenant,
                                                 page_size=3)]
    assert len(lines) == 6 + 3 and b"Zed Quill" in lines[0] + lines[6]
    good = tmp_path / "export.ndjson"
    good.write_bytes(b"".join(lines))
    run = subprocess.run([sys.executable, str(SCRIPT), str(good)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "checked 9 events of 2 cases: OK" in run.stdout
    tampered = tmp_path / "tampered.ndjson"
    tampered.write_bytes(b"".join(lines).replace(b'"actor":"test"', b'"actor":"evil"', 1))
    run = subprocess.run([sys.executable, str(SCRIPT), str(tampered)], capture_output=True, text=True)
    assert run.returncode == 1 and "first bad version 1" in run.stdout
    # A case broken after good lines is counted once in the summary.
    later = [*lines[:2], lines[2].replace(b'"actor":"test"', b'"actor":"evil"', 1), *lines[3:]]
    assert later[2] != lines[2]
    tampered.write_bytes(b"".join(later))
    run = subprocess.run([sys.executable, str(SCRIPT), str(tampered)], capture_output=True, text=True)
    assert run.returncode == 1 and "first bad version 3" in run.stdout
    assert "checked 9 events of 2 cases: 1 broken" in run.stdout
