"""Scale-out glue: ``Ledger-Position`` on writes and ``min_position`` on lag-tolerant reads.

Every successful write answers with ``Ledger-Position``: the feed position (``notification_id``,
the ``position`` of history and feed items) of the last event it appended. A write that appended
nothing (an idempotent replay, an identical re-placement) answers with the current head of the
feed, which includes whatever the first attempt stored (the header is added at the edge,
``ledger.api.edge``). Lists, metrics, queues and the audit trail accept ``?min_position=`` and
are then answered from a source whose read model has applied that position (see
``ledger.db.replica``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import QueryParameter

from ledger.api.problems import invalid
from ledger.observability.metrics import READ_MODEL_READS

POSITION_HEADER = b"ledger-position"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEAD_SQL = "SELECT coalesce(max(notification_id), 0) FROM stored_events"
MAX_POSITION = 2**63 - 1  # notification_id is a PostgreSQL bigint

MIN_POSITION = {
    "min_position": QueryParameter(
        annotation=int, name="min_position", required=False, ge=0,
        # An integer maximum: litestar's `le` is written as a float, 2**63 once rounded.
        schema_extra={"maximum": MAX_POSITION},
        description="Read your writes: answer only from read models that include this feed "
                    "position (a write's `Ledger-Position`); waits up to 2 s for the replica, "
                    "then answers from the primary.",
    ),
}
"""Layered parameter for controllers whose reads may come from a replica (documents it;
``read_pool`` validates it, since litestar does not check layered parameters it does not inject)."""


async def read_pool(request: Request, projection: str) -> Any:
    """The pool to read ``projection`` from for this request (honours ``min_position``)."""
    raw = request.query_params.get("min_position")
    min_position = None
    if raw is not None:
        # ASCII digits only (str.isdigit also takes "²"), bounded before int() to stay cheap.
        if not raw.isascii() or not raw.isdigit() or len(raw) > 40 or int(raw) > MAX_POSITION:
            raise invalid("min_position", f"must be a feed position: a whole number 0 to {MAX_POSITION}")
        min_position = int(raw)
    pool = await request.app.state.read_side.pool_for(projection, min_position)
    READ_MODEL_READS.labels("primary" if pool is request.app.state.pool else "replica").inc()
    return pool


async def feed_head(app: Any) -> int:
    """The feed's current head: the position of a write that appended nothing."""
    return int(await app.state.pool.fetchval(HEAD_SQL))
