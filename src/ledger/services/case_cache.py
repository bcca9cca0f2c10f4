"""Committed cases kept in process memory, so a request rarely replays a case from scratch.

A cached case is only ever brought forward with events already stored (``Repository.refresh``),
and the service drops it whenever a command leaves it holding events that did not get stored,
so the cache never serves an uncommitted fact. Reads still ask the database for newer events,
which keeps them strongly consistent with writers in other processes.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from ledger.domain.case import Case

DEFAULT_CAPACITY = 10_000


class CaseCache:
    """At most ``capacity`` cases, least recently used evicted first (0 disables caching)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._cases: OrderedDict[UUID, Case] = OrderedDict()

    def get(self, case_id: UUID) -> Case | None:
        case = self._cases.get(case_id)
        if case is not None:
            self._cases.move_to_end(case_id)
        return case

    def put(self, case: Case) -> None:
        if self.capacity <= 0 or case.pending_events:
            return
        self._cases[case.id] = case
        self._cases.move_to_end(case.id)
        while len(self._cases) > self.capacity:
            self._cases.popitem(last=False)

    def drop(self, case_id: UUID) -> None:
        self._cases.pop(case_id, None)

    def __len__(self) -> int:
        return len(self._cases)
