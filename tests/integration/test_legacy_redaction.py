"""``ledger redact-legacy``: a placement stored in clear by an older release becomes unreadable
under a signed, recorded redaction that verification accepts — and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit.checkpoints import take_checkpoint
from ledger.audit.export import export_lines
from ledger.audit.signing import public_bytes
from ledger.audit.verify import verify_all, verify_case
from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.values import Debtor, PaymentMethod
from ledger.eventstore import EventCodec, EventStore
from ledger.privacy.erasure import _placement_is_sealed
from ledger.privacy.legacy import redact_legacy, trusted_redactions
from ledger.services.repositories import case_repository

SCRIPT = Path(__file__).resolve().parents[2] / "docs/verify_export.py"
NAME, PHONE = "Lega Cyclear", "+15559990000"
START = datetime(2026, 1, 5, tzinfo=UTC)


async def test_a_redacted_legacy_placement_is_unreadable_and_still_verifies(make_database, tmp_path):
    url = await make_database()
    await migrate(url)
    pool = await create_pool(url, min_size=1, max_size=4)
    master, key = os.urandom(32), Ed25519PrivateKey.generate()
    try:
        case = Case.place(
            case_id=uuid.uuid4(), tenant_id="old", external_ref="OLD-1", portfolio="p",
            product="credit_card", currency="USD", principal=1_000, interest=0, fees=0,
            past_due_amount=100, days_past_due=40, placed_at=START,
            debtor=Debtor(name=NAME, phones=(PHONE,), timezone="UTC", jurisdiction="US-TX"),
            now=START + timedelta(days=1))
        store = EventStore(pool)
        async with pool.acquire() as conn, conn.transaction():  # what an old release wrote
            await conn.execute("SET LOCAL session_replication_role = replica")
            await store.append([EventCodec().encode(e) for e in case.collect_events()],
                               tenant_id="old", actor="old-release", connection=conn)
        repository = case_repository(store, master)
        loaded = await repository.load(case.id)
        loaded.receive_payment(external_id="P1", amount=100, currency="USD",
                               received_at=START + timedelta(days=2), method=PaymentMethod.ACH)
        await repository.save(loaded, tenant_id="old")
        assert not await _placement_is_sealed(pool, case.id)
        await take_checkpoint(pool, key)

        async with pool.acquire() as conn:
            await redact_legacy(conn, key, case.id, "debtor request 7")
        assert await _placement_is_sealed(pool, case.id)
        state = await pool.fetchval("SELECT state FROM stored_events WHERE originator_id = $1 "
                                    "AND originator_version = 1", case.id)
        assert NAME.encode() not in bytes(state) and PHONE.encode() not in bytes(state)
        reopened = await case_repository(EventStore(pool), master).load(case.id)
        assert reopened.debtor.name is None and reopened.balance == loaded.balance

        redacted = await trusted_redactions(pool.fetch, public_bytes(key))
        assert (await verify_all(pool.fetch, checkpoint_id=1, redacted=redacted)).bad == []
        assert [b.first_bad_version for b in (await verify_all(pool.fetch)).bad] == [1]
        verdict = await verify_case(store, "old", case.id)  # the checkpoint key signed it
        assert verdict is not None and verdict.ok and verdict.events_checked == 2
        # Signed by another key, the record vouches for nothing.
        assert await trusted_redactions(pool.fetch, public_bytes(Ed25519PrivateKey.generate())) == {}

        lines = [line async for line in export_lines(pool.fetch, EventCodec(), None, "old")]
        exported = tmp_path / "old.ndjson"
        exported.write_bytes(b"".join(lines))
        public = public_bytes(key).hex()
        run = subprocess.run([sys.executable, str(SCRIPT), "--public-key", public, str(exported)],
                             capture_output=True, text=True, check=False)
        assert run.returncode == 0 and "checked 2 events of 1 cases: OK" in run.stdout, run.stdout

        # Any other change to the redacted row is still tampering.
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("UPDATE stored_events SET state = state || ' '::bytea "
                               "WHERE originator_id = $1 AND originator_version = 1", case.id)
        assert [b.first_bad_version for b in
                (await verify_all(pool.fetch, redacted=redacted)).bad] == [1]
    finally:
        await pool.close()
