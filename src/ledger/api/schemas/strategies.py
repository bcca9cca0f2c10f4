"""Bodies of the scores, strategies, plan and dialer-list routes (API.md v1.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.api.schemas.common import Instant, Request

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Portfolio = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=10**12, description="Minor units (cents).")]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
ScoreValue = Annotated[int, msgspec.Meta(ge=0, le=1000)]
ActionName = Literal["call", "sms", "email", "letter", "visit", "escalate", "review"]
StatusName = Literal["active", "promised", "arrangement", "disputed", "on_hold", "legal", "closed"]


class RecordScore(Request):
    """A score from one of the bank's models; ``model`` is the path segment."""

    value: ScoreValue
    model_version: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scored_at: Instant


class ScoreRecorded(msgspec.Struct):
    case_id: UUID
    version: int
    model: str
    value: int
    scored_at: datetime


class ScoreConditionIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    min: ScoreValue | None = None
    max: ScoreValue | None = None


class WhenIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """Conditions that must all hold; ``{}`` matches every case (a catch-all)."""

    dpd_min: Days | None = None
    dpd_max: Days | None = None
    balance_min: MinorUnits | None = None
    balance_max: MinorUnits | None = None
    score: ScoreConditionIn | None = None
    jurisdiction: Annotated[str, msgspec.Meta(min_length=1, max_length=16,
                                              description="Prefix, e.g. US or US-TX.")] | None = None
    statuses: Annotated[list[StatusName], msgspec.Meta(min_length=1)] | None = None


class StepIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    day: Days
    action: ActionName
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    auto: bool = False


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Name
    when: WhenIn
    steps: Annotated[list[StepIn], msgspec.Meta(min_length=1, max_length=50)]


class ChallengerIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    split: Annotated[float, msgspec.Meta(gt=0, lt=1, description="Share of cases, 0..1.")]
    segments: Annotated[list[SegmentIn], msgspec.Meta(min_length=1, max_length=50)]


class SaveStrategy(Request):
    """A strategy document; saving an existing name makes its next version."""

    name: Name
    portfolios: Annotated[list[Portfolio], msgspec.Meta(min_length=1)]
    segments: Annotated[list[SegmentIn], msgspec.Meta(min_length=1, max_length=50)]
    challenger: ChallengerIn | None = None


class StrategySaved(msgspec.Struct):
    strategy_id: UUID
    version: int
    status: str
    warnings: list[str]


class ActivateStrategy(Request):
    """Which version to put in force (default: the latest)."""

    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class StrategyActivated(msgspec.Struct):
    strategy_id: UUID
    version: int
    status: str


class StrategyVersion(msgspec.Struct):
    version: int
    status: str
    saved_at: datetime
    activated_at: datetime | None
    document: SaveStrategy


class StrategyView(msgspec.Struct):
    strategy_id: UUID
    name: str
    active_version: int | None
    latest_version: int
    portfolios: list[str]
    """Of the active version, else of the latest."""
    versions: list[StrategyVersion]


class StrategyList(msgspec.Struct):
    items: list[StrategyView]
    next_cursor: str | None = None


class PlanStepView(msgspec.Struct):
    day: int
    action: str
    template: str | None
    due_at: datetime
    status: str
    auto: bool


class NextView(msgspec.Struct):
    action: str
    due_at: datetime
    allowed_at: datetime | None


class PausedView(msgspec.Struct):
    reason: str


class PlanView(msgspec.Struct):
    strategy_id: UUID
    version: int
    arm: str
    segment: str
    entered_at: datetime
    steps: list[PlanStepView]
    next: NextView | None
    paused: PausedView | None


class DialerItem(msgspec.Struct):
    case_id: UUID
    external_ref: str
    phone: str
    segment: str
    arm: str
    due_at: datetime
    allowed_until: datetime | None
    """When the current allowed window closes (null: not by time alone)."""


class DialerList(msgspec.Struct):
    items: list[DialerItem]
    next_cursor: str | None = None
