"""Segment matching and arm assignment, with property tests of the contract's promises."""

from __future__ import annotations

import uuid

import pytest
from random import Random

from case_builders import at, given
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st
from strategy_builders import document

from ledger.domain.strategy.document import Action, ScoreCondition, Segment, Step, When
from ledger.domain.strategy.evaluation import (
    CHALLENGER,
    ActiveStrategy,
    SegmentInputs,
    arm_for,
    matches,
    matching_segment,
)
from ledger.domain.case_strategy import SegmentExit
from ledger.domain.values import CaseStatus

STRATEGY_ID = uuid.UUID("5a0c9b7e-1d2f-4c3b-8a9e-0f1e2d3c4b5a")


def inputs(**changes: object) -> SegmentInputs:
    base = dict(days_past_due=45, balance=100_000, scores={"behaviour": 500},
                jurisdiction="US-TX", status=CaseStatus.ACTIVE)
    return SegmentInputs(**(base | changes))  # type: ignore[arg-type]


def test_the_first_matching_segment_wins() -> None:
    segments = document().segments
    assert matching_segment(segments, inputs(days_past_due=10, scores={"behaviour": 700})).name == "early"
    assert matching_segment(segments, inputs(days_past_due=10, scores={"behaviour": 500})).name == "rest"
    assert matching_segment(segments, inputs(days_past_due=91)).name == "late"


def test_every_condition_must_hold() -> None:
    when = When(balance_min=1000, balance_max=5000, jurisdiction="us",
                statuses=(CaseStatus.ACTIVE, CaseStatus.PROMISED))
    assert matches(when, inputs(balance=3000))
    assert not matches(when, inputs(balance=6000))
    assert not matches(when, inputs(balance=3000, jurisdiction="GB"))
    assert not matches(when, inputs(balance=3000, status=CaseStatus.DISPUTED))


def test_a_score_the_case_lacks_fails_its_condition() -> None:
    when = When(score=ScoreCondition("fico", min=600))
    assert not matches(when, inputs())
    assert matches(when, inputs(scores={"fico": 650}))


conditions = st.builds(
    When,
    dpd_min=st.none() | st.integers(0, 400), dpd_max=st.none() | st.integers(0, 400),
    balance_min=st.none() | st.integers(0, 10**7),
    score=st.none() | st.builds(ScoreCondition, st.sampled_from(["behaviour", "fico"]),
                                st.none() | st.integers(0, 1000)),
    jurisdiction=st.none() | st.sampled_from(["US", "GB", "CN-11"]),
)
case_inputs = st.builds(
    SegmentInputs, days_past_due=st.integers(0, 500), balance=st.integers(-1000, 10**7),
    scores=st.dictionaries(st.sampled_from(["behaviour", "fico"]), st.integers(0, 1000)),
    jurisdiction=st.sampled_from(["US-TX", "GB", "CN-11", "DE"]),
    status=st.sampled_from(list(CaseStatus)),
)


@settings(max_examples=200)
@for_all(st.lists(conditions, max_size=6), case_inputs)
def test_a_segment_is_always_found_when_a_catch_all_exists(whens: list[When], facts: SegmentInputs) -> None:
    step = (Step(0, Action.CALL),)
    segments = tuple(Segment(f"s{i}", w, step) for i, w in enumerate(whens))
    segments += (Segment("rest", When(), step),)
    found = matching_segment(segments, facts)
    assert found is not None
    assert all(not matches(s.when, facts) for s in segments[: segments.index(found)])


@settings(max_examples=100)
@for_all(st.uuids(), st.uuids(), st.floats(0.01, 0.99))
def test_an_arm_is_a_pure_function_of_case_and_strategy(case_id: uuid.UUID, strategy_id: uuid.UUID,
                                                       split: float) -> None:
    assert arm_for(case_id, strategy_id, split) == arm_for(uuid.UUID(str(case_id)), strategy_id, split)
    assert arm_for(case_id, strategy_id, None) == "champion"


# Fixed seeds: the share of 10,000 random ids is a random variable (σ ≈ 0.4–0.5 points), so a
# search for a bad draw finds one eventually; these draws are reproducible, not chosen.
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("split", [0.1, 0.2, 0.5, 0.8])
def test_the_challenger_share_of_ten_thousand_ids_is_within_one_and_a_half_points(
        seed: int, split: float) -> None:
    rng = Random(seed)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(10_000)]
    share = sum(arm_for(i, STRATEGY_ID, split) == CHALLENGER for i in ids) / 10_000
    assert abs(share - split) <= 0.015


def active(version: int = 1) -> list[ActiveStrategy]:
    return [ActiveStrategy(STRATEGY_ID, version, document())]


def test_a_case_enters_a_segment_once_and_moves_when_its_facts_change() -> None:
    case = given(days_past_due=95)
    first = case.resegment(active(), at(days=1))
    assert first is not None and first.segment in {"late", "late-soft"}
    assert [type(e).__name__ for e in case.collect_events()] == ["SegmentEntered"]
    assert case.resegment(active(), at(days=1, hours=3)) is None
    case.receive_payment(external_id="p", amount=45000, currency="USD", received_at=at(days=2),
                         method="card")
    case.collect_events()
    moved = case.resegment(active(), at(days=2, hours=1))  # cured: dpd 0
    assert moved is not None and moved.segment in {"early", "rest"}
    assert moved.arm == first.arm


def test_a_new_active_version_records_a_new_entry() -> None:
    case = given()
    case.resegment(active(1), at(days=1))
    assert case.resegment(active(2), at(days=1)).version == 2  # type: ignore[union-attr]


def test_a_case_outside_every_active_portfolio_or_closed_enters_nothing() -> None:
    case = given(portfolio="mortgages")
    assert case.resegment(active(), at(days=1)) is None
    closed = given(lambda c: c.close(reason="recalled", closed_at=at(days=1)))
    assert closed.resegment(active(), at(days=2)) is None


def test_a_case_whose_portfolio_loses_its_strategy_leaves_its_segment_once() -> None:
    case = given()
    entered = case.resegment(active(), at(days=1))
    case.collect_events()
    left = case.resegment([], at(days=2))  # the version activated last dropped the portfolio
    assert left == SegmentExit(entered)
    assert case.segment_entry is None and case.plan([], at(days=2)) is None
    events = case.collect_events()
    assert [type(e).__name__ for e in events] == ["SegmentLeft"]
    assert (events[0].segment, events[0].arm) == (entered.segment, entered.arm)
    assert case.resegment([], at(days=3)) is None
    assert case.resegment(active(), at(days=4)) == entered  # covered again: back in


@settings(max_examples=60, deadline=None)
@for_all(st.integers(0, 400), st.integers(1, 10**6), st.integers(0, 1000), st.integers(0, 30))
def test_re_evaluation_with_unchanged_facts_never_records_a_new_entry(
        dpd: int, balance: int, score: int, hours: int) -> None:
    case = given(days_past_due=dpd, principal=balance, interest=0, fees=0,
                 past_due_amount=min(balance, 1000))
    case.record_score(model="fico", value=score, model_version="9", scored_at=at(days=1))
    case.resegment(active(), at(days=1))
    case.collect_events()
    # the same local day (placement 09:00 Chicago, +1 day, + ≤ 11 h): nothing ages
    assert case.resegment(active(), at(days=1, hours=hours % 11)) is None
    assert case.collect_events() == []
