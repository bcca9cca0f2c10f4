"""In-memory delivery queues of one shard: strict order per (endpoint, case), due times.

The database rows are the durable truth; these queues are rebuilt from the pending rows when
a process takes a shard over. One queue per (endpoint, case) holds that pair's pending
deliveries in feed order; only its head may be in flight, so one case's events reach an
endpoint in order while different cases (and endpoints) proceed concurrently. A heap orders
the heads by due time; an endpoint that is disabled parks its queues until it is enabled.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

Key = tuple[UUID, UUID]
"""(endpoint_id, case_id)"""
BODIES_KEPT_PER_QUEUE = 2
"""Bodies beyond the first few of a queue are dropped from memory and re-read when due,
so a receiver that is down for hours costs rows in the database, not memory here."""


@dataclass(slots=True)
class Delivery:
    delivery_id: UUID
    webhook_id: str
    endpoint_id: UUID
    case_id: UUID
    seq: int
    attempts: int
    recorded_at: datetime
    body: bytes | None = None


@dataclass
class ShardQueues:
    queues: dict[Key, deque[Delivery]] = field(default_factory=dict)
    heap: list[tuple[float, int, Key]] = field(default_factory=list)
    in_flight: set[Key] = field(default_factory=set)
    parked: dict[UUID, set[Key]] = field(default_factory=dict)
    scheduled: dict[Key, float] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, delivery: Delivery, due: float) -> None:
        key = (delivery.endpoint_id, delivery.case_id)
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = deque()
        if len(queue) >= BODIES_KEPT_PER_QUEUE:
            delivery.body = None
        queue.append(delivery)
        if len(queue) == 1 and key not in self.in_flight:
            self.schedule(key, due)

    def schedule(self, key: Key, due: float) -> None:
        self.scheduled[key] = due
        heapq.heappush(self.heap, (due, next(self._counter), key))

    def next_due(self) -> float | None:
        while self.heap:
            due, _, key = self.heap[0]
            if self.scheduled.get(key) != due or key in self.in_flight:
                heapq.heappop(self.heap)  # superseded entry
                continue
            return due
        return None

    def pop_due(self, now: float) -> Key | None:
        """The key of a head due at ``now`` (marked in flight), or None."""
        due = self.next_due()
        if due is None or due > now:
            return None
        _, _, key = heapq.heappop(self.heap)
        del self.scheduled[key]
        self.in_flight.add(key)
        return key

    def head(self, key: Key) -> Delivery:
        return self.queues[key][0]

    def done(self, key: Key, now: float) -> None:
        """The head was delivered (or cancelled): the next one is due now."""
        self.in_flight.discard(key)
        queue = self.queues[key]
        queue.popleft()
        if queue:
            self.schedule(key, now)
        else:
            del self.queues[key]

    def retry(self, key: Key, due: float) -> None:
        self.in_flight.discard(key)
        self.schedule(key, due)

    def park(self, key: Key) -> None:
        """The endpoint is disabled: keep the queue, schedule nothing."""
        self.in_flight.discard(key)
        self.scheduled.pop(key, None)
        self.parked.setdefault(key[0], set()).add(key)

    def unpark(self, endpoint_id: UUID, now: float) -> None:
        for key in self.parked.pop(endpoint_id, set()):
            if key in self.queues:
                self.schedule(key, now)

    def drop_endpoint(self, endpoint_id: UUID) -> None:
        for key in [k for k in self.queues if k[0] == endpoint_id]:
            if key not in self.in_flight:
                del self.queues[key]
            self.scheduled.pop(key, None)
        self.parked.pop(endpoint_id, None)

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())
