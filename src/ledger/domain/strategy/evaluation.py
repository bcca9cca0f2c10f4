"""Which segment and which arm a case is in: pure functions of the case's facts.

Arms are assigned by hashing (strategy id, case id): the same case always lands in the same
arm of a strategy, across restarts, re-evaluations and processes, and over many cases the
challenger's share is the split (the hash is uniform). Segments are matched in document
order; the first whose every condition holds wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import blake2b
from uuid import UUID

import msgspec

from ledger.domain.strategy.document import Segment, StrategyDocument, When
from ledger.domain.values import CaseStatus

CHAMPION = "champion"
CHALLENGER = "challenger"
_SCALE = float(2**64)


class SegmentInputs(msgspec.Struct, frozen=True, kw_only=True):
    """What segment conditions read about a case at one instant."""

    days_past_due: int
    balance: int
    scores: Mapping[str, int]
    jurisdiction: str
    status: CaseStatus


class ActiveStrategy(msgspec.Struct, frozen=True):
    """A version of a strategy in force for its portfolios."""

    strategy_id: UUID
    version: int
    document: StrategyDocument


class Placement(msgspec.Struct, frozen=True):
    """Where a case stands in a strategy: recorded as ``SegmentEntered`` when it changes."""

    strategy_id: UUID
    version: int
    arm: str
    segment: str


def arm_for(case_id: UUID, strategy_id: UUID, split: float | None) -> str:
    """``challenger`` for a ``split`` share of case ids, deterministically; else ``champion``."""
    if not split:
        return CHAMPION
    digest = blake2b(strategy_id.bytes + case_id.bytes, digest_size=8).digest()
    return CHALLENGER if int.from_bytes(digest, "big") / _SCALE < split else CHAMPION


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def matches(when: When, facts: SegmentInputs) -> bool:
    """Do all of ``when``'s conditions hold? (A score the case lacks fails its condition.)"""
    if not _within(facts.days_past_due, when.dpd_min, when.dpd_max):
        return False
    if not _within(facts.balance, when.balance_min, when.balance_max):
        return False
    if when.score is not None:
        value = facts.scores.get(when.score.model)
        if value is None or not _within(value, when.score.min, when.score.max):
            return False
    if when.jurisdiction is not None and not facts.jurisdiction.upper().startswith(
            when.jurisdiction.upper()):
        return False
    return when.statuses is None or facts.status in when.statuses


def segments_of(document: StrategyDocument, arm: str) -> tuple[Segment, ...]:
    if arm == CHALLENGER and document.challenger is not None:
        return document.challenger.segments
    return document.segments


def matching_segment(segments: tuple[Segment, ...], facts: SegmentInputs) -> Segment | None:
    """The first segment whose conditions hold, or None."""
    return next((s for s in segments if matches(s.when, facts)), None)


def evaluate(strategy: ActiveStrategy, case_id: UUID, facts: SegmentInputs) -> Placement | None:
    """The case's arm and segment in ``strategy`` (None if no segment matches)."""
    document = strategy.document
    split = document.challenger.split if document.challenger is not None else None
    arm = arm_for(case_id, strategy.strategy_id, split)
    segment = matching_segment(segments_of(document, arm), facts)
    if segment is None:
        return None
    return Placement(strategy.strategy_id, strategy.version, arm, segment.name)


def strategy_for(portfolio: str, active: list[ActiveStrategy]) -> ActiveStrategy | None:
    """The active strategy covering ``portfolio`` (activation keeps them from overlapping)."""
    return next((s for s in active if portfolio in s.document.portfolios), None)


def segment_named(strategy: ActiveStrategy, arm: str, name: str) -> Segment | None:
    return next((s for s in segments_of(strategy.document, arm) if s.name == name), None)
