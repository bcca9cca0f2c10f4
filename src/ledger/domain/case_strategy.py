"""The case side of scores and contact strategies (a mixin of ``Case``).

Scores from the bank's models and Ledger's ``behaviour`` score, the case's place in the
active strategy (``SegmentEntered`` when it changes, ``SegmentLeft`` when no active strategy
covers it any more), and its plan. The rules are the pure
functions of :mod:`ledger.domain.strategy`; this module only gathers the case's facts for
them. State lives in class-level defaults until first set, so snapshots taken before this
capability existed still load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from ledger.domain.compliance import permission
from ledger.domain.errors import InvalidRequest
from ledger.domain.strategy.behaviour import (
    RECENT_DAYS,
    BehaviourFacts,
    BehaviourScore,
    behaviour_score,
)
from ledger.domain.strategy.document import BEHAVIOUR_MODEL, Action
from ledger.domain.strategy.evaluation import (
    ActiveStrategy,
    Placement,
    SegmentInputs,
    evaluate,
    segment_named,
    strategy_for,
)
from ledger.domain.strategy.plan import (
    AllowedFrom,
    NextAction,
    PlannedStep,
    next_action,
    pause_reason,
    step_statuses,
)
from ledger.domain.timeutil import aware_utc, not_in_future
from ledger.domain.validation import required_text
from ledger.domain.values import Channel, Direction, Outcome, PromiseStatus

if TYPE_CHECKING:
    from ledger.domain.case import Case

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
CHANNEL_ACTION = {Channel.PHONE: Action.CALL, Channel.SMS: Action.SMS,
                  Channel.EMAIL: Action.EMAIL, Channel.LETTER: Action.LETTER,
                  Channel.VISIT: Action.VISIT}


class ScoreRecord(msgspec.Struct, frozen=True):
    value: int
    model_version: str
    scored_at: datetime


class SegmentRecord(msgspec.Struct, frozen=True):
    strategy_id: UUID
    version: int
    arm: str
    segment: str
    entered_at: datetime

    @property
    def placement(self) -> Placement:
        return Placement(self.strategy_id, self.version, self.arm, self.segment)


class SegmentExit(msgspec.Struct, frozen=True):
    """What ``resegment`` returns when the case left its strategy's segment."""

    left: Placement


class CasePlan(msgspec.Struct, frozen=True):
    strategy_id: UUID
    version: int
    arm: str
    segment: str
    entered_at: datetime
    steps: list[PlannedStep]
    next: NextAction | None
    paused: str | None


class _Scores(Mapping[str, int]):
    """A case's score values; the behaviour score costs a pass over the history, so it is
    computed on first use (most segment conditions never read it)."""

    def __init__(self, case: Case, at: datetime) -> None:
        self._case, self._at = case, at
        self._values = {model: record.value for model, record in case.scores.items()}
        self._behaviour: int | None = None

    def __getitem__(self, model: str) -> int:
        if model == BEHAVIOUR_MODEL:
            if self._behaviour is None:
                self._behaviour = self._case.behaviour(self._at).value
            return self._behaviour
        return self._values[model]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, BEHAVIOUR_MODEL])

    def __len__(self) -> int:
        return len(self._values) + 1


class CaseStrategy:
    """Scores, segment entries and plans of a ``Case``."""

    # State (class-level defaults; the @event bodies in Case replace, never mutate).
    scores: Mapping[str, ScoreRecord] = {}
    segment_entry: SegmentRecord | None = None
    last_action_at: Mapping[Action, datetime] = {}
    outbound_contacts: int = 0
    right_party_contacts: int = 0

    # ---- commands -----------------------------------------------------------------

    def record_score(self: Case, *, model: str, value: int, model_version: str,
                     scored_at: datetime, now: datetime | None = None) -> None:
        """A bank model scored the case (kept even when older than the latest one)."""
        if not isinstance(model, str) or not MODEL_NAME.match(model):
            raise InvalidRequest("model", "must be 1-64 of a-z, 0-9, '_', '.', '-'")
        if model == BEHAVIOUR_MODEL:
            raise InvalidRequest("model", "behaviour is Ledger's own score and cannot be set")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            raise InvalidRequest("value", "must be a whole number within 0..1000")
        model_version = required_text(model_version, "model_version", 100)
        scored_at = aware_utc(scored_at, "scored_at")
        not_in_future(scored_at, now, "scored_at")
        self._score_recorded(timestamp=scored_at, model=model, value=value,
                             model_version=model_version)

    def resegment(self: Case, active: list[ActiveStrategy],
                  now: datetime) -> Placement | SegmentExit | None:
        """Record ``SegmentEntered`` if the case's arm or segment changed, or ``SegmentLeft``
        if it is in a segment but no active strategy covers its portfolio any more (the
        version activated last dropped it); returns the change, None if there is none.

        A closed case stays where it was.
        """
        if self.is_closed:
            return None
        current = self.segment_entry
        strategy = strategy_for(self.portfolio, active)
        if strategy is None:
            if current is None:
                return None
            self._segment_left(timestamp=aware_utc(now, "now"), strategy_id=current.strategy_id,
                               version=current.version, arm=current.arm,
                               segment=current.segment)
            return SegmentExit(current.placement)
        found = evaluate(strategy, self.id, self.segment_inputs(now))
        if found is None or (current is not None and current.placement == found):
            return None
        self._segment_entered(timestamp=aware_utc(now, "now"), strategy_id=found.strategy_id,
                              version=found.version, arm=found.arm, segment=found.segment)
        return found

    # ---- reading ------------------------------------------------------------------

    def behaviour(self: Case, at: datetime, days_past_due: int | None = None) -> BehaviourScore:
        """The behaviour score at ``at`` (``days_past_due`` at ``at`` if the caller has it)."""
        since = at - timedelta(days=RECENT_DAYS)
        payments = list(self.payments.values())
        statuses = [p.status for p in self.promises]
        return behaviour_score(BehaviourFacts(
            promises_kept=statuses.count(PromiseStatus.KEPT),
            promises_broken=statuses.count(PromiseStatus.BROKEN),
            recent_payments=sum(1 for p in payments
                                if p.counts and since < p.received_at <= at),
            payments_reversed=sum(1 for p in payments if p.reversed),
            outbound_contacts=self.outbound_contacts,
            right_party_contacts=self.right_party_contacts,
            days_past_due=self.days_past_due(at) if days_past_due is None else days_past_due,
        ))

    def score_values(self: Case, at: datetime) -> Mapping[str, int]:
        """Latest value per model, with ``behaviour`` worked out only if asked for."""
        return _Scores(self, at)

    def segment_inputs(self: Case, at: datetime) -> SegmentInputs:
        return SegmentInputs(days_past_due=self.days_past_due(at), balance=self.balance,
                             scores=self.score_values(at), jurisdiction=self.jurisdiction,
                             status=self.status(at))

    def pause_reason(self: Case, at: datetime) -> str | None:
        ceased = self.ceased_all or set(self.ceased_channels) >= set(Channel)
        return pause_reason(
            closed=self.is_closed,
            on_hold=any(h.window.active_at(at) for h in self.holds.values()),
            disputed=any(d.is_open for d in self.disputes.values()),
            ceased_everywhere=ceased,
        )

    def plan(self: Case, active: list[ActiveStrategy], now: datetime, *,
             with_allowed_at: bool = True) -> CasePlan | None:
        """The plan in the active strategy the case last entered; None if there is none.

        ``with_allowed_at=False`` leaves ``next.allowed_at`` at the step's start (the dialer
        list asks permission at its own instant instead)."""
        entry = self.segment_entry
        if entry is None:
            return None
        strategy = next((s for s in active if s.strategy_id == entry.strategy_id
                         and s.version == entry.version), None)
        if strategy is None or strategy is not strategy_for(self.portfolio, active):
            return None
        segment = segment_named(strategy, entry.arm, entry.segment)
        if segment is None:
            return None
        steps = step_statuses(segment, entry.entered_at, self.timezone, self.last_action_at, now)
        paused = self.pause_reason(now)
        allowed_from: AllowedFrom = (
            (lambda channel, at: permission(self, channel, at).next_allowed_at)
            if with_allowed_at else (lambda _channel, at: at))
        upcoming = None if paused else next_action(steps, now, allowed_from)
        return CasePlan(entry.strategy_id, entry.version, entry.arm, entry.segment,
                        entry.entered_at, steps, upcoming, paused)

    # ---- state helpers called by Case's @event bodies ------------------------------

    def _track_contact(self, at: datetime, channel: Channel, direction: Direction,
                       outcome: Outcome) -> None:
        if direction is not Direction.OUTBOUND:
            return
        self.outbound_contacts += 1
        if outcome is Outcome.RIGHT_PARTY:
            self.right_party_contacts += 1
        self._track_action(CHANNEL_ACTION[channel], at)

    def _track_action(self, action: Action, at: datetime) -> None:
        last = self.last_action_at.get(action)
        if last is None or at > last:
            self.last_action_at = {**self.last_action_at, action: at}

    def _track_score(self, model: str, record: ScoreRecord) -> None:
        current = self.scores.get(model)
        if current is None or record.scored_at >= current.scored_at:
            self.scores = {**self.scores, model: record}
