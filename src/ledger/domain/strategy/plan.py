"""A case's plan: each step's due time and status, the next action, and why it is paused.

Pure: the caller passes what the case has done (the latest business time of each kind of
action) and how to ask contact permission, so the compliance rules are the permission
check's own (``ledger.domain.compliance.permission``), never a copy.

Statuses, judged at ``now``: ``done`` when a matching action happened at or after the step's
``due_at``; otherwise ``upcoming`` before ``due_at``; ``missed`` once a later-dated step fell
due; else ``due``. Steps on the same day fall due together, so none of them misses another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import msgspec

from ledger.domain.strategy.document import ACTION_CHANNEL, Action, Segment, Step
from ledger.domain.timeutil import local_date, start_of_local_day
from ledger.domain.values import Channel

AllowedFrom = Callable[[Channel, datetime], "datetime | None"]
"""``(channel, at)`` → the first allowed instant at or after ``at`` (None: not by time alone)."""


class StepStatus(StrEnum):
    DONE = "done"
    DUE = "due"
    UPCOMING = "upcoming"
    MISSED = "missed"


class PlannedStep(msgspec.Struct, frozen=True):
    day: int
    action: Action
    template: str | None
    due_at: datetime
    status: StepStatus
    auto: bool = False


class NextAction(msgspec.Struct, frozen=True):
    action: Action
    due_at: datetime
    allowed_at: datetime | None
    template: str | None = None
    auto: bool = False


@lru_cache(maxsize=100_000)
def due_at(entered_at: datetime, day: int, timezone: str) -> datetime:
    """Local midnight of ``entered_at``'s local date plus ``day`` days (DST-safe).

    Cached: dialer lists and sweeps ask for the same cases' steps again and again."""
    return start_of_local_day(local_date(entered_at, timezone) + timedelta(days=day), timezone)


def step_statuses(segment: Segment, entered_at: datetime, timezone: str,
                  done_at: Mapping[Action, datetime], now: datetime) -> list[PlannedStep]:
    """Every step of ``segment`` with its ``due_at`` and status at ``now``."""
    dues = [due_at(entered_at, step.day, timezone) for step in segment.steps]
    latest_fallen_due = max((d for d in dues if d <= now), default=None)
    planned = []
    for step, due in zip(segment.steps, dues, strict=True):
        last = done_at.get(step.action)
        if last is not None and last >= due:
            status = StepStatus.DONE
        elif due > now:
            status = StepStatus.UPCOMING
        elif latest_fallen_due is not None and latest_fallen_due > due:
            status = StepStatus.MISSED
        else:
            status = StepStatus.DUE
        planned.append(PlannedStep(step.day, step.action, step.template, due, status, step.auto))
    return planned


def next_action(steps: list[PlannedStep], now: datetime,
                allowed_from: AllowedFrom) -> NextAction | None:
    """The first due step, else the first upcoming one; None when nothing is left.

    ``allowed_at`` is the first moment from ``due_at`` (from ``now`` for a step already due:
    a moment in the past is no use to anyone) that permission allows on the step's channel;
    escalations and reviews contact nobody, so they are allowed when due.
    """
    chosen = next((s for s in steps if s.status is StepStatus.DUE), None)
    if chosen is None:
        chosen = next((s for s in steps if s.status is StepStatus.UPCOMING), None)
    if chosen is None:
        return None
    start = max(chosen.due_at, now)
    channel = ACTION_CHANNEL.get(chosen.action)
    allowed = start if channel is None else allowed_from(channel, start)
    return NextAction(chosen.action, chosen.due_at, allowed, chosen.template, chosen.auto)


def pause_reason(*, closed: bool, on_hold: bool, disputed: bool,
                 ceased_everywhere: bool) -> str | None:
    """Why collection is paused (``closed``, ``on_hold``, ``disputed``, ``ceased``), or None."""
    for reason, applies in (("closed", closed), ("on_hold", on_hold), ("disputed", disputed),
                            ("ceased", ceased_everywhere)):
        if applies:
            return reason
    return None


def action_windows(segment: Segment, entered_at: datetime, timezone: str,
                   done_at: Mapping[Action, datetime], wanted: Callable[[Step], bool],
                   ) -> list[tuple[datetime, datetime | None, Step]]:
    """The periods ``[from, until)`` in which the next action is a due step ``wanted`` takes.

    Between two step days the statuses only change with new facts, so a window is a day
    group whose first step not yet done is wanted, until the next group falls due (None: no
    later group). Agrees with :func:`next_action` at every instant in it.
    """
    dues = [due_at(entered_at, step.day, timezone) for step in segment.steps]
    groups = sorted(set(dues))
    windows: list[tuple[datetime, datetime | None, Step]] = []
    for index, group in enumerate(groups):
        open_steps = [step for step, due in zip(segment.steps, dues, strict=True)
                      if due == group and not (
                          (last := done_at.get(step.action)) is not None and last >= due)]
        if open_steps and wanted(open_steps[0]):
            windows.append((group, groups[index + 1] if index + 1 < len(groups) else None,
                            open_steps[0]))
    return windows


def call_windows(segment: Segment, entered_at: datetime, timezone: str,
                 done_at: Mapping[Action, datetime]) -> list[tuple[datetime, datetime | None]]:
    """The periods in which the next action is a due ``call`` (the dialer's candidates)."""
    return [(start, until) for start, until, _ in action_windows(
        segment, entered_at, timezone, done_at, lambda step: step.action is Action.CALL)]


def auto_windows(segment: Segment, entered_at: datetime, timezone: str,
                 done_at: Mapping[Action, datetime]) -> list[tuple[datetime, datetime | None, Step]]:
    """The periods in which the next action is a due ``auto`` message step."""
    return action_windows(segment, entered_at, timezone, done_at, lambda step: step.auto)
