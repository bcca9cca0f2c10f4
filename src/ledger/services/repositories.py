"""The one factory of the repository that stores cases: **every writer uses this**.

The API (placements, facts, erasure), the NDJSON import, the demo loader, ``ledger tick``, the
deadline scheduler and any future sender get their ``Repository`` from ``case_repository`` (or
their ``CaseService`` from ``case_service``), so the debtor's personal data is always sealed
with the case's data key before it reaches the database. Building ``Repository(...)`` directly
for cases is a bug: ``tests/unit/test_repository_factory.py`` scans the source tree for it,
``Repository.save`` refuses to store an aggregate that holds personal data without a cipher
(``UnsealedWrite``), stored idempotency replies are sealed too (``ledger.privacy.replies``),
and the database itself refuses a ``Placed`` event whose debtor is in
clear (migration 0050).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.eventstore import EventStore, Repository
from ledger.privacy.keys import DataKeys
from ledger.privacy.replies import ReplySealer
from ledger.privacy.sealing import DebtorCipher
from ledger.services.cases import CaseService, utc_now


def case_repository(store: EventStore, master_key: bytes | DataKeys, *,
                    snapshot_interval: int | None = 100) -> Repository:
    """The repository of cases, sealing personal data with per-case keys under ``master_key``.

    Pass the process's ``DataKeys`` instead of the raw key to share its cache (and its
    forgetting on erasure) with other parts of the process.
    """
    data_keys = master_key if isinstance(master_key, DataKeys) else DataKeys(store.fetch, master_key)
    if store is not None:
        # Idempotency replies (a placement's is a case view) are sealed with the same keys.
        store.reply_sealer = ReplySealer(data_keys)
    return Repository(store, snapshot_interval=snapshot_interval, cipher=DebtorCipher(data_keys))


def case_service(store: EventStore, master_key: bytes | DataKeys, *,
                 snapshot_interval: int | None = 100,
                 clock: Callable[[], datetime] = utc_now) -> CaseService:
    """A ``CaseService`` over ``case_repository``."""
    return CaseService(case_repository(store, master_key, snapshot_interval=snapshot_interval),
                       clock)
