"""Strategy documents: what is refused (and where), what is only warned about."""

from __future__ import annotations

import pytest
from strategy_builders import CARDS_DEFAULT, document

from ledger.domain.errors import InvalidRequest
from ledger.domain.strategy.document import check


def refused_field(**changes: object) -> str:
    with pytest.raises(InvalidRequest) as refused:
        check(document(**changes), templates={"reminder", "notice"})
    return refused.value.field


def test_the_contract_example_is_valid_and_warns_about_nothing() -> None:
    assert check(document(), templates={"reminder", "notice"}) == []


def test_a_strategy_without_segments_is_refused_at_segments() -> None:
    assert refused_field(segments=[]) == "segments"


def test_a_strategy_without_a_catch_all_is_refused() -> None:
    segments = [s for s in CARDS_DEFAULT["segments"] if s["when"]]
    assert refused_field(segments=segments) == "segments"


def test_steps_out_of_day_order_are_refused_at_the_step() -> None:
    segments = [{"name": "rest", "when": {},
                 "steps": [{"day": 3, "action": "call"}, {"day": 1, "action": "call"}]}]
    assert refused_field(segments=segments) == "segments[0].steps[1].day"


def test_an_unknown_template_is_refused_when_templates_are_known() -> None:
    with pytest.raises(InvalidRequest) as refused:
        check(document(), templates={"reminder"})
    assert refused.value.field == "segments[0].steps[2].template"


def test_a_step_naming_a_template_of_another_channel_is_refused_at_its_template() -> None:
    channels = {"reminder": "sms", "notice": "letter"}
    assert check(document(), templates=channels) == []
    with pytest.raises(InvalidRequest) as refused:
        check(document(), templates={"reminder": "letter", "notice": "letter"})
    assert refused.value.field == "segments[0].steps[0].template"
    assert "letter template" in refused.value.message


def test_a_message_step_without_a_template_is_refused() -> None:
    segments = [{"name": "rest", "when": {}, "steps": [{"day": 0, "action": "email"}]}]
    assert refused_field(segments=segments) == "segments[0].steps[0].template"


def test_auto_on_a_call_is_refused() -> None:
    segments = [{"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call", "auto": True}]}]
    assert refused_field(segments=segments) == "segments[0].steps[0].auto"


def test_a_split_outside_zero_and_one_is_refused() -> None:
    challenger = {**CARDS_DEFAULT["challenger"], "split": 1.5}
    assert refused_field(challenger=challenger) == "challenger.split"


def test_an_inverted_range_is_refused() -> None:
    segments = [{"name": "odd", "when": {"dpd_min": 40, "dpd_max": 10},
                 "steps": [{"day": 0, "action": "call"}]},
                *CARDS_DEFAULT["segments"][-1:]]
    assert refused_field(segments=segments) == "segments[0].when.dpd_min"


def test_a_score_model_never_seen_is_allowed_with_a_warning() -> None:
    segments = [{"name": "bureau", "when": {"score": {"model": "fico", "min": 700}},
                 "steps": [{"day": 0, "action": "call"}]}, *CARDS_DEFAULT["segments"][-1:]]
    warnings = check(document(segments=segments), templates=None, known_models={"other"})
    assert warnings == ["score model 'fico' has never been recorded for this tenant"]
    assert check(document(segments=segments), known_models={"fico"}) == []
