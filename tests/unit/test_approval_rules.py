"""Authority limits and maker–checker on the Case aggregate."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.errors import CaseClosed, InvalidRequest, WaiverExceedsBalance
from ledger.domain.negotiation.authority import (
    INSTALLMENTS_ABOVE_POLICY,
    SETTLEMENT_BELOW_AUTHORITY,
    TERM_ABOVE_POLICY,
    WAIVER_ABOVE_AUTHORITY,
)
from ledger.domain.negotiation.case_approvals import (
    AlreadyDecided,
    BeyondAuthority,
    KeyHolder,
    SameMakerChecker,
    UnknownApproval,
)
from ledger.domain.negotiation.policy import OfferPolicy
from ledger.domain.negotiation.terms import RoleAuthority, SettlementTier, validate_terms
from ledger.domain.values import Instalment

from case_builders import at, pay, place, replay

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TERMS = validate_terms([SettlementTier(0, 80), SettlementTier(181, 50)], 12, 2500, 365,
                       {"agent": RoleAuthority(10, 80), "supervisor": RoleAuthority(50, 40)})
AGENT = KeyHolder("k-agent", "agent", "agent-7")
SUPERVISOR = KeyHolder("k-super", "supervisor")
OTHER_SUPERVISOR = KeyHolder("k-super-2", "supervisor")
ADMIN = KeyHolder("k-admin", "admin")
NOW = at(days=2)
BALANCE = 285150


def _settle(case, amount, asker=AGENT, policy=TERMS, waive=False):
    due = NOW.date() + timedelta(days=10)
    return case.negotiate_arrangement(kind="settlement", instalments=[Instalment(due, amount)],
                                      waive_interest=waive, agreed_at=NOW, asker=asker,
                                      policy=policy, now=NOW)


def test_within_authority_the_arrangement_is_agreed_at_once():
    case = place()
    done = _settle(case, BALANCE * 80 // 100 + 1)
    assert done.approval_id is None and done.fact_id == case.arrangement.arrangement_id


def test_without_a_policy_nothing_needs_approval():
    case = place()
    assert _settle(case, 1, policy=None).fact_id is not None


def test_each_kind_of_excess_is_named():
    case = place()
    assert _settle(case, BALANCE * 70 // 100).reasons == (SETTLEMENT_BELOW_AUTHORITY,)
    start = NOW.date() + timedelta(days=3)
    long = [Instalment(start + timedelta(days=40 * k), 10_000) for k in range(13)]
    asked = place().negotiate_arrangement(kind="installments", instalments=long,
                                          waive_interest=False, agreed_at=NOW, asker=SUPERVISOR,
                                          policy=TERMS, now=NOW)
    assert asked.reasons == (INSTALLMENTS_ABOVE_POLICY, TERM_ABOVE_POLICY)
    interest = place(principal=100_000, interest=50_000, fees=0)
    waived = interest.negotiate_arrangement(
        kind="installments", instalments=[Instalment(start, 10_000)], waive_interest=True,
        agreed_at=NOW, asker=AGENT, policy=TERMS, now=NOW)
    assert waived.reasons == (WAIVER_ABOVE_AUTHORITY,)
    big = place().negotiate_waiver(amount=BALANCE // 2 + 1, reason="goodwill", occurred_at=NOW,
                                   asker=SUPERVISOR, policy=TERMS, now=NOW)
    assert big.reasons == (WAIVER_ABOVE_AUTHORITY,)
    assert place().negotiate_waiver(amount=BALANCE // 2, reason="goodwill", occurred_at=NOW,
                                    asker=SUPERVISOR, policy=TERMS, now=NOW).approval_id is None


def test_a_request_is_validated_like_the_command_before_it_is_parked():
    case = place()
    case.close(reason="recalled", closed_at=at(days=1))
    with pytest.raises(CaseClosed):
        _settle(case, 1)
    with pytest.raises(InvalidRequest):
        place().negotiate_waiver(amount=0, reason="x", occurred_at=NOW, asker=AGENT,
                                 policy=TERMS, now=NOW)


def test_maker_checker_refusals():
    case = place()
    asked = _settle(case, BALANCE * 30 // 100)
    decide = dict(approval_id=asked.approval_id, reason=None, policy=TERMS, decided_at=NOW)
    with pytest.raises(SameMakerChecker):
        case.decide_approval(decision="approve", checker=AGENT, **decide)
    with pytest.raises(SameMakerChecker):  # same bound agent through another key
        case.decide_approval(decision="approve", checker=KeyHolder("k2", "supervisor", "agent-7"),
                             **decide)
    with pytest.raises(BeyondAuthority):  # 30 % is below the supervisor's 40 %
        case.decide_approval(decision="approve", checker=SUPERVISOR, **decide)
    assert [type(e).__name__ for e in case.pending_events] == ["Placed", "ApprovalRequested"]
    case.decide_approval(decision="decline", checker=SUPERVISOR, **decide)
    with pytest.raises(AlreadyDecided):
        case.decide_approval(decision="approve", checker=ADMIN, **decide)
    with pytest.raises(UnknownApproval):
        case.decide_approval(decision="approve", checker=ADMIN,
                             **{**decide, "approval_id": case.id})
    assert case.arrangement is None


@PROPERTY
@given(st.integers(1, 79), st.booleans(), st.integers(1, 20), st.integers(1, 48))
def test_an_approval_applies_exactly_what_was_asked(pct, waive, due_in, hours_later):
    case = place()
    amount = BALANCE * pct // 100
    asked = _settle(case, amount, waive=waive)
    if waive and amount > BALANCE - case.interest:
        return  # refused before parking (exceeds the balance after the waiver)
    assert asked.approval_id is not None
    request = case.approvals[asked.approval_id].arrangement
    decided_at = NOW + timedelta(hours=hours_later)
    done = case.decide_approval(approval_id=asked.approval_id, decision="approve", reason="ok",
                                checker=ADMIN, policy=TERMS, decided_at=decided_at)
    agreed = case.arrangement
    assert done.fact_id == agreed.arrangement_id
    assert (agreed.kind, agreed.instalments, agreed.waive_interest) == (
        request.kind, request.instalments, request.waive_interest)
    assert agreed.agreed_at == decided_at
    assert case.approvals[asked.approval_id].status == "approved"
    # replaying the recorded events gives the same case
    again = replay(case.collect_events())
    assert again.arrangement == agreed and again.approvals == case.approvals


def test_a_supervisor_may_grant_a_policy_exception_another_supervisor_asked_for():
    case = place()
    start = NOW.date() + timedelta(days=3)
    plan = [Instalment(start + timedelta(days=20 * k), 10_000) for k in range(14)]
    asked = case.negotiate_arrangement(kind="installments", instalments=plan,
                                       waive_interest=False, agreed_at=NOW, asker=SUPERVISOR,
                                       policy=TERMS, now=NOW)
    case.decide_approval(approval_id=asked.approval_id, decision="approve", reason=None,
                         checker=OTHER_SUPERVISOR, policy=TERMS, decided_at=NOW)
    assert len(case.arrangement.instalments) == 14


def test_the_policy_aggregate_versions_changes_only():
    policy = OfferPolicy.define(tenant_id="t", portfolio="p", terms=TERMS, at=NOW)
    assert policy.version == 1
    assert policy.revise(terms=TERMS, at=NOW) is False
    changed = validate_terms([SettlementTier(0, 70)], 6, 1000, 180, {})
    assert policy.revise(terms=changed, at=NOW) is True and policy.version == 2
    again = replay(policy.collect_events())
    assert again.terms == changed and again.version == 2


plans = st.lists(st.tuples(st.integers(1, 40), st.integers(2_500, 14_000)), min_size=1, max_size=20)


@PROPERTY
@given(plans, st.sampled_from([AGENT, SUPERVISOR]), st.integers(1, 72))
def test_an_approved_instalment_plan_is_exactly_the_plan_asked_for(steps, asker, hours_later):
    case = place()
    due, plan = NOW.date() + timedelta(days=3), []  # still ahead when the decision comes
    for gap, amount in steps:
        due += timedelta(days=gap)
        plan.append(Instalment(due, amount))
    terms = validate_terms([SettlementTier(0, 80)], 3, 2500, 60, {"agent": RoleAuthority(10, 80)})
    asked = case.negotiate_arrangement(kind="installments", instalments=plan, waive_interest=False,
                                       agreed_at=NOW, asker=asker, policy=terms, now=NOW)
    if asked.approval_id is None:  # within the policy: agreed at once, as asked
        assert case.arrangement.instalments == tuple(plan)
        return
    assert len(plan) > 3 or (plan[-1].due_date - NOW.date()).days > 60  # what needs approval
    decided_at = NOW + timedelta(hours=hours_later)
    case.decide_approval(approval_id=asked.approval_id, decision="approve", reason=None,
                         checker=ADMIN, policy=terms, decided_at=decided_at)
    assert case.arrangement.instalments == tuple(plan)
    assert case.arrangement.agreed_at == decided_at


@PROPERTY
@given(st.integers(1, BALANCE), st.integers(1, 72))
def test_an_approved_waiver_waives_exactly_the_amount_asked(amount, hours_later):
    case = place()
    before = case.balance
    asked = case.negotiate_waiver(amount=amount, reason="goodwill", occurred_at=NOW,
                                  asker=SUPERVISOR, policy=TERMS, now=NOW)
    if asked.approval_id is None:
        assert amount * 100 <= 50 * before and case.balance == before - amount
        return
    assert case.balance == before  # parked, not applied
    case.decide_approval(approval_id=asked.approval_id, decision="approve", reason=None,
                         checker=ADMIN, policy=TERMS, decided_at=NOW + timedelta(hours=hours_later))
    assert case.balance == before - amount and case.waived_total == amount


def test_a_decider_beyond_their_authority_is_refused_before_the_balance_is_judged():
    case = place()
    asked = case.negotiate_waiver(amount=BALANCE * 60 // 100, reason="goodwill", occurred_at=NOW,
                                  asker=SUPERVISOR, policy=TERMS, now=NOW)
    pay("p-1", BALANCE // 2, NOW)(case)  # now the waiver is more than the balance
    with pytest.raises(BeyondAuthority):  # 403 for a supervisor (50%), not 409
        case.decide_approval(approval_id=asked.approval_id, decision="approve", reason=None,
                             checker=OTHER_SUPERVISOR, policy=TERMS, decided_at=NOW)
    with pytest.raises(WaiverExceedsBalance):  # an admin may approve any amount: the 409
        case.decide_approval(approval_id=asked.approval_id, decision="approve", reason=None,
                             checker=ADMIN, policy=TERMS, decided_at=NOW)


@PROPERTY
@given(st.lists(st.integers(1, BALANCE // 4), min_size=1, max_size=6))
def test_waivers_in_small_steps_never_pass_the_askers_limit_together(steps):
    case = place()
    for amount in steps:
        if amount > case.balance:
            break
        case.negotiate_waiver(amount=amount, reason="goodwill", occurred_at=NOW,
                              asker=SUPERVISOR, policy=TERMS, now=NOW)
        # Whatever was applied at once stays within the supervisor's 50% of what was owed.
        assert case.waived_total * 100 <= 50 * (case.balance + case.waived_total)


def test_a_waiver_within_the_limit_alone_waits_when_earlier_waivers_used_it_up():
    case = place()
    first = case.negotiate_waiver(amount=BALANCE * 40 // 100, reason="goodwill",
                                  occurred_at=NOW, asker=SUPERVISOR, policy=TERMS, now=NOW)
    assert first.approval_id is None
    second = case.negotiate_waiver(amount=BALANCE * 20 // 100, reason="goodwill",
                                   occurred_at=NOW, asker=SUPERVISOR, policy=TERMS, now=NOW)
    assert second.approval_id is not None  # 20% of what is left, but 60% in all
    assert case.approvals[second.approval_id].reasons == (WAIVER_ABOVE_AUTHORITY,)
    with pytest.raises(BeyondAuthority):  # another supervisor's 50% is used up as well
        case.decide_approval(approval_id=second.approval_id, decision="approve", reason=None,
                             checker=OTHER_SUPERVISOR, policy=TERMS, decided_at=NOW)
    case.decide_approval(approval_id=second.approval_id, decision="approve", reason=None,
                         checker=ADMIN, policy=TERMS, decided_at=NOW)
    assert case.waived_total == BALANCE * 40 // 100 + BALANCE * 20 // 100
