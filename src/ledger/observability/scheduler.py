"""Metrics of the deadline scheduler: each pass and the cases it changed."""

from __future__ import annotations

from ledger.observability.metrics import DEADLINE_CASES, DEADLINE_RUNS


def observe_deadline_pass(changed: int | None) -> None:
    """``DeadlineScheduler``'s ``observe`` hook: ``changed`` is None when the pass failed."""
    if changed is None:
        DEADLINE_RUNS.labels("failed").inc()
        return
    DEADLINE_RUNS.labels("ok").inc()
    DEADLINE_CASES.inc(changed)
