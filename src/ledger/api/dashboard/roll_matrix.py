"""The full roll-rate matrix: where the open cases of each DPD bucket at the start of a month
were at its end — in which bucket, cured, or closed.

It reads the same grouped rows as ``/v1/metrics/roll-rates`` (``metric_queries.ROLL_SQL``),
so each row's total is that route's ``cases``, the next-bucket cell its ``rolled`` (for 180+,
the 180+ cell) and the ``cured`` cell its ``cured``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ledger.projections import metric_queries as mq

OUTCOMES = [*mq.BUCKET_LABELS, "cured", "closed"]


async def roll_matrix(pool: asyncpg.Pool, tenant: str, first: datetime,
                      following: datetime) -> list[dict[str, Any]]:
    """One row per starting bucket: ``{"group", "cases", <bucket>…, "cured", "closed"}``."""
    moment = first.resolution  # "end of" a month = just before the next one, as the route does
    rows = await pool.fetch(mq.ROLL_SQL, tenant, first - moment, following - moment,
                            mq.BUCKET_LOWS)
    matrix = {label: dict.fromkeys(["cases", *OUTCOMES], 0) for label in mq.BUCKET_LABELS}
    for start_index, end_index, open_at_end, cured, count in rows:
        start = mq.BUCKET_BY_INDEX[start_index]
        if start is None:
            continue  # not past due at the start of the month: in no row
        end = mq.BUCKET_BY_INDEX[end_index]
        if cured:
            outcome = "cured"
        elif not open_at_end:
            outcome = "closed"
        else:
            outcome = end if end is not None else "cured"
        matrix[start]["cases"] += count
        matrix[start][outcome] += count
    return [{"group": label, **figures} for label, figures in matrix.items()]
