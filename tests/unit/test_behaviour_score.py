"""The behaviour score against hand-worked cases (the README's points table)."""

from __future__ import annotations

from case_builders import at, given

from ledger.domain.strategy.behaviour import BehaviourFacts, behaviour_score


def facts(**changes: int) -> BehaviourFacts:
    base = dict(promises_kept=0, promises_broken=0, recent_payments=0, payments_reversed=0,
                outbound_contacts=0, right_party_contacts=0, days_past_due=60)
    return BehaviourFacts(**(base | changes))


def codes(score: object) -> dict[str, int]:
    return {r.code: r.points for r in score.reasons}  # type: ignore[attr-defined]


def test_a_quiet_case_sixty_days_late_scores_the_base_only() -> None:
    score = behaviour_score(facts())
    assert (score.value, codes(score)) == (500, {"base": 500})
    assert score.model_version == "ledger-behaviour-1"


def test_a_good_payer_early_in_delinquency() -> None:
    # 500 + 2×60 kept + 3×50 payments (4 made, 3 count) + 60 (2 of 5 right party) + 100 (dpd 12)
    score = behaviour_score(facts(promises_kept=2, recent_payments=4, outbound_contacts=5,
                                  right_party_contacts=2, days_past_due=12))
    assert score.value == 930
    assert codes(score) == {"base": 500, "promises_kept": 120, "recent_payments": 150,
                            "right_party_contact_rate": 60, "days_past_due": 100}


def test_a_bad_payer_long_overdue_bottoms_out_at_zero() -> None:
    # 500 − 3×60 broken − 2×60 reversed − 40 (0 of 10 right party) − 160 (dpd 200) = 0
    score = behaviour_score(facts(promises_broken=5, payments_reversed=2, outbound_contacts=10,
                                  days_past_due=200))
    assert score.value == 0
    assert sum(r.points for r in score.reasons) == 0


def test_a_middling_contact_rate_scores_nothing_and_is_left_out() -> None:
    score = behaviour_score(facts(outbound_contacts=10, right_party_contacts=2,
                                  days_past_due=120))
    assert codes(score) == {"base": 500, "days_past_due": -80}


def test_a_case_scores_from_its_own_facts_at_the_instant_asked() -> None:
    case = given(
        lambda c: c.receive_payment(external_id="p1", amount=5000, currency="USD",
                                    received_at=at(days=1), method="card"),
        lambda c: c.record_contact(channel="phone", direction="outbound", outcome="right_party",
                                   occurred_at=at(days=2)),
        days_past_due=20, past_due_amount=45000,
    )
    soon, later = case.behaviour(at(days=5)), case.behaviour(at(days=200))
    # dpd 25 → +100 and one recent payment → +50; too few contacts to rate
    assert codes(soon) == {"base": 500, "recent_payments": 50, "days_past_due": 100}
    # 200 days on, the payment is old news and the case is 220 days late
    assert codes(later) == {"base": 500, "days_past_due": -160}
    assert case.score_values(at(days=5))["behaviour"] == 650
