"""A contact strategy as a document: segments with conditions and timed steps.

The document is data (msgspec Structs) stored in the ``Strategy`` stream's events; the rules
that read it live in :mod:`evaluation` and :mod:`plan`. ``check`` is the one validation both
the API and the aggregate rely on: it raises ``InvalidRequest`` naming the field at fault and
returns warnings (a score model Ledger has never seen is allowed, but said).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

import msgspec

from ledger.domain.errors import InvalidRequest
from ledger.domain.values import CaseStatus, Channel

BEHAVIOUR_MODEL = "behaviour"
MAX_SEGMENTS = 50
MAX_STEPS = 50
MAX_DAY = 3650


class Action(StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"
    ESCALATE = "escalate"
    REVIEW = "review"


ACTION_CHANNEL: dict[Action, Channel] = {
    Action.CALL: Channel.PHONE, Action.SMS: Channel.SMS, Action.EMAIL: Channel.EMAIL,
    Action.LETTER: Channel.LETTER, Action.VISIT: Channel.VISIT,
}
"""The contact channel each contact action uses (escalate and review contact nobody)."""
MESSAGE_ACTIONS = frozenset({Action.SMS, Action.EMAIL, Action.LETTER})
"""Actions that send a template (and may be ``auto``)."""


class ScoreCondition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: str
    min: int | None = None
    max: int | None = None


class When(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """All given conditions must hold; an empty ``when`` matches every case (a catch-all)."""

    dpd_min: int | None = None
    dpd_max: int | None = None
    balance_min: int | None = None
    balance_max: int | None = None
    score: ScoreCondition | None = None
    jurisdiction: str | None = None
    statuses: tuple[CaseStatus, ...] | None = None

    @property
    def is_catch_all(self) -> bool:
        return self == When()


class Step(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    day: int
    action: Action
    template: str | None = None
    auto: bool = False


class Segment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    when: When
    steps: tuple[Step, ...]


class Challenger(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    split: float
    segments: tuple[Segment, ...]


class StrategyDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    portfolios: tuple[str, ...]
    segments: tuple[Segment, ...]
    challenger: Challenger | None = None


def _range(low: int | None, high: int | None, field: str) -> None:
    for value, name in ((low, "min"), (high, "max")):
        if value is not None and value < 0:
            raise InvalidRequest(f"{field}_{name}", "must be ≥ 0")
    if low is not None and high is not None and low > high:
        raise InvalidRequest(f"{field}_min", f"is greater than {field}_max")


def _check_when(when: When, at: str, models: set[str]) -> None:
    _range(when.dpd_min, when.dpd_max, f"{at}.when.dpd")
    _range(when.balance_min, when.balance_max, f"{at}.when.balance")
    if when.score is not None:
        score = when.score
        if not score.model or len(score.model) > 64:
            raise InvalidRequest(f"{at}.when.score.model", "must be a model name (1-64 chars)")
        for value, name in ((score.min, "min"), (score.max, "max")):
            if value is not None and not 0 <= value <= 1000:
                raise InvalidRequest(f"{at}.when.score.{name}", "must be within 0..1000")
        if score.min is not None and score.max is not None and score.min > score.max:
            raise InvalidRequest(f"{at}.when.score.min", "is greater than max")
        models.add(score.model)
    if when.jurisdiction is not None and not 1 <= len(when.jurisdiction) <= 16:
        raise InvalidRequest(f"{at}.when.jurisdiction", "must be a prefix such as US or US-TX")
    if when.statuses is not None and not when.statuses:
        raise InvalidRequest(f"{at}.when.statuses", "must name at least one status")


def _check_steps(steps: tuple[Step, ...], at: str, templates: Collection[str] | None) -> None:
    if not steps:
        raise InvalidRequest(f"{at}.steps", "a segment needs at least one step")
    if len(steps) > MAX_STEPS:
        raise InvalidRequest(f"{at}.steps", f"at most {MAX_STEPS} steps")
    previous = 0
    for index, step in enumerate(steps):
        where = f"{at}.steps[{index}]"
        if not 0 <= step.day <= MAX_DAY:
            raise InvalidRequest(f"{where}.day", f"must be within 0..{MAX_DAY}")
        if step.day < previous:
            raise InvalidRequest(f"{where}.day", "steps must be in day order")
        previous = step.day
        if step.action in MESSAGE_ACTIONS:
            if not step.template:
                raise InvalidRequest(f"{where}.template", f"a {step.action} step names a template")
            if templates is not None and step.template not in templates:
                raise InvalidRequest(f"{where}.template", f"unknown template {step.template!r}")
            channel = templates.get(step.template) if isinstance(templates, Mapping) else None
            if channel is not None and channel != step.action:
                raise InvalidRequest(f"{where}.template", f"{step.template!r} is a {channel} "
                                     f"template; a {step.action} step sends {step.action}")
        elif step.template is not None:
            raise InvalidRequest(f"{where}.template", f"a {step.action} step sends no template")
        if step.auto and step.action not in MESSAGE_ACTIONS:
            raise InvalidRequest(f"{where}.auto", "only sms, email and letter steps run automatically")


def _check_segments(segments: tuple[Segment, ...], at: str, models: set[str],
                    templates: Collection[str] | None) -> None:
    if not segments:
        raise InvalidRequest(at, "at least one segment is required")
    if len(segments) > MAX_SEGMENTS:
        raise InvalidRequest(at, f"at most {MAX_SEGMENTS} segments")
    names: set[str] = set()
    for index, segment in enumerate(segments):
        where = f"{at}[{index}]"
        if not 1 <= len(segment.name) <= 100:
            raise InvalidRequest(f"{where}.name", "must be 1-100 characters")
        if segment.name in names:
            raise InvalidRequest(f"{where}.name", "segment names must be unique")
        names.add(segment.name)
        _check_when(segment.when, where, models)
        _check_steps(segment.steps, where, templates)
    if not any(segment.when.is_catch_all for segment in segments):
        # Without a catch-all some case matches no segment, and then it has no plan at all.
        raise InvalidRequest(at, "no segment matches every case: add a catch-all (an empty when)")


def check(document: StrategyDocument, *, templates: Collection[str] | None = None,
          known_models: Collection[str] = ()) -> list[str]:
    """Refuse a strategy that cannot be evaluated; return warnings about it.

    ``templates``: the saved template names, or their channels by name, which a step sending
    one must match (``None`` when templates are not checked).
    ``known_models``: score models ever recorded for the tenant; others are warned about.
    """
    if not 1 <= len(document.name) <= 100:
        raise InvalidRequest("name", "must be 1-100 characters")
    if not document.portfolios:
        raise InvalidRequest("portfolios", "name at least one portfolio")
    if any(not 1 <= len(p) <= 255 for p in document.portfolios):
        raise InvalidRequest("portfolios", "each portfolio is 1-255 characters")
    if len(set(document.portfolios)) != len(document.portfolios):
        raise InvalidRequest("portfolios", "a portfolio is named twice")
    models: set[str] = set()
    _check_segments(document.segments, "segments", models, templates)
    if document.challenger is not None:
        if not 0 < document.challenger.split < 1:
            raise InvalidRequest("challenger.split", "must be between 0 and 1 (exclusive)")
        _check_segments(document.challenger.segments, "challenger.segments", models, templates)
    unknown = sorted(models - set(known_models) - {BEHAVIOUR_MODEL})
    return [f"score model {m!r} has never been recorded for this tenant" for m in unknown]
