"""One worker framework for every long-running background job (DESIGN.md, "Round two").

The deadline scheduler, the projection runner and later the message sender, the webhook
deliverer and the strategy sweep share two pieces:

* :class:`Supervisor` runs a worker's loop as a task and restarts it, with exponential backoff
  and jitter, whenever it raises; it counts restarts in ``/metrics`` and says how it is doing
  (``status()``) for ``/ready``. A loop that dies can therefore never stop the work for good.
* :class:`PoisonGuard` runs one *item* (a case, an event, a message) at a time and tells a
  transient failure (database down: raise, the supervisor retries everything later) from an
  item that fails on its own: after ``max_attempts`` such failures the item is quarantined in
  ``worker_quarantine`` (logged once with its id, counted in ``/metrics``, listed by
  ``ledger workers status`` and ``/ready``) and the worker goes on with the others.

Usage::

    guard = PoisonGuard(pool, "webhooks")
    async def loop() -> None:
        while True:
            for item in await due_items(exclude=await guard.held()):
                await guard.attempt(item.id, lambda: deliver(item), tenant_id=item.tenant_id)
            await asyncio.sleep(1)
    supervisor = Supervisor("webhooks", loop); await supervisor.start(); ...; await supervisor.stop()
"""

from ledger.workers.errors import is_transient
from ledger.workers.poison import PoisonGuard
from ledger.workers.quarantine import (
    Quarantined,
    count_held,
    held_items,
    list_quarantine,
    list_skips,
    quarantine,
    record_skip,
    release,
)
from ledger.workers.supervisor import Backoff, Supervisor, WorkerStatus

__all__ = [
    "Backoff", "PoisonGuard", "Quarantined", "Supervisor", "WorkerStatus", "count_held",
    "held_items", "is_transient", "list_quarantine", "list_skips", "quarantine", "record_skip",
    "release",
]
