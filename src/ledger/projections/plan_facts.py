"""What the ``strategies`` projection keeps of a case (``PlanFacts``, no personal data): its
time zone, assignee, pauses, current segment entry and when each action was last done, enough
to work out its dialer and automatic-step windows (``window_rows``, with the rules the plan
itself uses). Stored as msgpack in ``rm_plan_facts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.domain.strategy.document import Action, StrategyDocument
from ledger.domain.strategy.evaluation import ActiveStrategy, segment_named
from ledger.domain.strategy.plan import auto_windows, call_windows

CHANNEL_ACTION = {"phone": Action.CALL, "sms": Action.SMS, "email": Action.EMAIL,
                  "letter": Action.LETTER, "visit": Action.VISIT}
CONNECTED = frozenset({"right_party", "third_party"})
NONE = "none"


class Entry(msgspec.Struct, array_like=True):
    strategy_id: UUID
    version: int
    arm: str
    segment: str
    entered_at: datetime


class PlanFacts(msgspec.Struct, array_like=True):
    timezone: str
    assigned_to: str | None = None
    closed: bool = False
    entry: Entry | None = None
    done_at: dict[str, datetime] = {}
    ceased_all: bool = False
    open_disputes: int = 0
    """Both pause the plan until a person acts: such cases are no candidates at all."""
    phone_ceased: bool = False
    """The debtor asked us to stop calling (the phone channel alone): no dialer windows."""
    assigned_since: datetime | None = None
    """Business time of the assignment in force (a later-dated one is not undone by one
    recorded after it but dated earlier)."""


ENCODER = msgspec.msgpack.Encoder()
DECODER = msgspec.msgpack.Decoder(PlanFacts)


def done(facts: PlanFacts, action: Action, at: datetime) -> None:
    done_at = facts.done_at  # each PlanFacts has a dict of its own (msgspec copies defaults)
    last = done_at.get(action)
    if last is None or at > last:
        done_at[str(action)] = at


def window_rows(tenant: str, case_id: UUID, facts: PlanFacts, document: StrategyDocument,
                ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The case's ``rm_dialer`` rows (windows with a call due) and ``rm_auto_steps`` rows
    (automatic steps due), for a case in a segment of ``document`` and not paused."""
    entry = facts.entry
    if entry is None:
        return [], []
    segment = segment_named(ActiveStrategy(entry.strategy_id, entry.version, document),
                            entry.arm, entry.segment)
    if segment is None:
        return [], []
    done_at = {Action(k): v for k, v in facts.done_at.items()}
    dialer = [(tenant, case_id, start, until, facts.assigned_to, entry.segment, entry.arm)
              for start, until in call_windows(segment, entry.entered_at, facts.timezone,
                                               done_at)]
    steps = [(tenant, case_id, start, until, str(step.action), step.template)
             for start, until, step in auto_windows(segment, entry.entered_at, facts.timezone,
                                                    done_at)]
    return dialer, steps
