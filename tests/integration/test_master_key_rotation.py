"""``ledger keys rotate-master``: every data key re-wrapped under the new master key, resumably."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ledger.db.migrations import migrate
from ledger.db.pool import create_pool
from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import EventStore
from ledger.privacy import MasterKeyMismatch
from ledger.privacy.erasure import destroy_personal_data
from ledger.privacy.master import master_key_id
from ledger.privacy.rotation import rotate_master_key
from ledger.services.repositories import case_repository

START = datetime(2026, 1, 5, tzinfo=UTC)


class Interrupted(Exception):
    pass


async def _pool_and_two_keys(make_database):  # type: ignore[no-untyped-def]
    url = await make_database()
    await migrate(url)
    return await create_pool(url, min_size=1, max_size=4), os.urandom(32), os.urandom(32)


async def test_an_interrupted_rotation_resumes_and_every_case_opens_with_the_new_key_only(make_database):
    pool, old, new = await _pool_and_two_keys(make_database)
    try:
        repository = case_repository(EventStore(pool), old)
        ids = []
        for n in range(7):
            case = Case.place(
                case_id=uuid.uuid4(), tenant_id="rot", external_ref=f"ROT-{n}", portfolio="p",
                product="credit_card", currency="USD", principal=1_000, interest=0, fees=0,
                past_due_amount=100, days_past_due=40, placed_at=START,
                debtor=Debtor(name=f"Rota Tion {n}", timezone="UTC", jurisdiction="US-TX"),
                now=START + timedelta(days=1))
            await repository.save(case, tenant_id="rot")
            ids.append(case.id)
        await destroy_personal_data(pool, repository.cipher.data_keys, "rot", ids[0])

        seen = []

        def stop_after_first_batch(done: int, total: int) -> None:
            seen.append((done, total))
            raise Interrupted

        with pytest.raises(Interrupted):
            await rotate_master_key(pool, old, new, batch=2, progress=stop_after_first_batch)
        assert seen == [(2, 6)]  # the erased case's key is gone: 6 live keys
        assert await pool.fetchval("SELECT count(*) FROM data_keys WHERE master_key_id = $1",
                                   master_key_id(new)) == 2

        progress = []
        assert await rotate_master_key(pool, old, new, batch=2,
                                       progress=lambda d, t: progress.append((d, t))) == 4
        assert progress[-1] == (4, 4)
        assert await pool.fetchval("SELECT count(*) FROM data_keys WHERE master_key_id <> $1",
                                   master_key_id(new)) == 0

        reopened = await case_repository(EventStore(pool), new).load_many(ids)
        assert [reopened[i].debtor.name for i in ids[1:]] == [f"Rota Tion {n}" for n in range(1, 7)]
        assert reopened[ids[0]].personal_data_erased or reopened[ids[0]].debtor.name is None
        with pytest.raises(MasterKeyMismatch):
            await case_repository(EventStore(pool), old).load(ids[1])
    finally:
        await pool.close()


async def test_webhook_secrets_are_rewrapped_and_open_with_the_new_key_only(make_database):
    # Found by a black-box audit: rotate-master re-wrapped data keys only, so after the
    # restart with the new key every webhook delivery failed (MasterKeyMismatch).
    from ledger.webhooks.secrets import SecretVault, rotate_secrets

    pool, old, new = await _pool_and_two_keys(make_database)
    try:
        secret_ids = [uuid.uuid4(), uuid.uuid4()]
        for n, secret_id in enumerate(secret_ids):
            await SecretVault(old).put(pool, secret_id, uuid.uuid4(), "rot", f"whsec_{n}")
        assert await rotate_secrets(pool, old, new) == 2
        assert await rotate_secrets(pool, old, new) == 0  # resumable: nothing left
        opened = await SecretVault(new).get(pool, secret_ids)
        assert opened == {secret_ids[0]: "whsec_0", secret_ids[1]: "whsec_1"}
        with pytest.raises(MasterKeyMismatch):
            await SecretVault(old).get(pool, secret_ids)
    finally:
        await pool.close()
