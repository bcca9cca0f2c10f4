"""Nothing after the commit turns a stored fact into an error (issue 11, item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from ledger.domain.case import Case
from ledger.domain.values import Debtor, PaymentMethod
from ledger.eventstore import EventStore, Repository
from ledger.privacy import DataKeys, DebtorCipher

MASTER = bytes(range(32))


class ConnectionLostAfterCommit(DebtorCipher):
    """The real cipher, whose database connection dies once the events are committed: the
    data-key fetch for the snapshot (the first thing after the append) fails."""

    armed = False

    async def keys(self, originator_ids):  # type: ignore[no-untyped-def]
        if self.armed:
            raise ConnectionResetError("connection lost after commit")
        return await super().keys(originator_ids)


async def test_a_snapshot_key_fetch_failing_after_the_commit_still_reports_the_save(pool, tenant):
    store = EventStore(pool)
    cipher = ConnectionLostAfterCommit(DataKeys(store.fetch, MASTER))
    repository = Repository(store, cipher=cipher, snapshot_interval=2)
    start = datetime.now(UTC) - timedelta(days=30)
    case = Case.place(
        case_id=uuid4(), tenant_id=tenant, external_ref=f"A-{uuid4().hex[:8]}", portfolio="p",
        product="card", currency="USD", principal=100_000, interest=0, fees=0,
        past_due_amount=1000, days_past_due=40, placed_at=start,
        debtor=Debtor(name="Zed Quill", phones=("+15550009999",), timezone="UTC",
                      jurisdiction="US"))
    await repository.save(case, tenant_id=tenant, actor="test")
    case.receive_payment(external_id="P1", amount=100, currency="USD",
                         received_at=start + timedelta(days=1), method=PaymentMethod.ACH)
    cipher.armed = True  # a payment event is not sealed: the save itself needs no key
    rows = await repository.save(case, tenant_id=tenant, actor="test")  # crosses interval 2
    assert [r.originator_version for r in rows] == [2]
    assert not case.pending_events
    stored = await pool.fetchval("SELECT count(*) FROM stored_events WHERE originator_id = $1",
                                 case.id)
    snapshots = await pool.fetchval("SELECT count(*) FROM snapshots WHERE originator_id = $1",
                                    case.id)
    assert (stored, snapshots) == (2, 0)  # the fact is stored; only the snapshot was skipped
    cipher.armed = False
    loaded = await Repository(store, cipher=cipher).load(case.id, tenant_id=tenant)
    assert loaded.version == 2
