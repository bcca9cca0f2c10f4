"""Offer arithmetic and the debtor's calendar (property-based)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.negotiation.calendar import add_months, is_payable_day, next_payable_day
from ledger.domain.negotiation.offers import (
    instalment_plans,
    monthly_due_dates,
    settlement_floor_pct,
    settlement_offer,
    split_evenly,
)
from ledger.domain.negotiation.terms import OfferTerms, RoleAuthority, SettlementTier, validate_terms

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JURISDICTIONS = ("US-TX", "US", "GB", "CN", "DE", "XX")

tiers = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 100)), min_size=1, max_size=5,
                 unique_by=lambda t: t[0])
policies = st.builds(
    lambda t, count, minimum, term: validate_terms(
        [SettlementTier(d, p) for d, p in t], count, minimum, term,
        {"agent": RoleAuthority(10, 80)}),
    tiers, st.integers(1, 60), st.integers(1, 50_000), st.integers(1, 1_500))
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@PROPERTY
@given(st.integers(0, 10**11), st.integers(1, 600))
def test_split_evenly_adds_up_with_the_remainder_on_the_last(total, count):
    parts = split_evenly(total, count)
    assert len(parts) == count and sum(parts) == total
    assert len(set(parts[:-1])) <= 1 and 0 <= parts[-1] - parts[0] < count


@PROPERTY
@given(policies, st.integers(0, 5_000_000), days, st.sampled_from(JURISDICTIONS))
def test_plans_never_exceed_the_policy_and_always_add_up(terms, balance, today, where):
    plans = instalment_plans(terms, balance, today, where)
    for plan in plans:
        assert 2 <= plan.installments <= terms.max_installments
        assert plan.amount >= terms.min_installment
        assert plan.amount * (plan.installments - 1) + plan.last_amount == balance
        assert plan.last_amount >= plan.amount
        assert len(plan.due_dates) == plan.installments
        assert plan.due_dates[0] == plan.first_due_date > today
        assert plan.due_dates[-1] == plan.last_due_date <= today + timedelta(days=terms.max_term_days)
        assert list(plan.due_dates) == sorted(set(plan.due_dates))
        assert all(is_payable_day(d, where) for d in plan.due_dates)
        assert plan.due_dates == monthly_due_dates(plan.first_due_date, plan.installments, where)
    assert [p.installments for p in plans] == list(range(2, 2 + len(plans)))


@PROPERTY
@given(policies, st.integers(0, 5_000_000), st.integers(0, 1_000))
def test_the_settlement_is_never_below_the_policy_floor(terms, balance, dpd):
    offer = settlement_offer(terms, balance, dpd)
    assert offer.pct == settlement_floor_pct(terms, dpd)
    assert offer.amount * 100 >= offer.pct * balance > (offer.amount - 1) * 100
    assert offer.amount <= balance


def test_the_floor_follows_the_days_past_due_tiers():
    terms = validate_terms([SettlementTier(181, 50), SettlementTier(0, 80)], 12, 2500, 365, {})
    assert [settlement_floor_pct(terms, d) for d in (0, 180, 181, 900)] == [80, 80, 50, 50]
    later = validate_terms([SettlementTier(30, 90)], 12, 2500, 365, {})
    assert settlement_floor_pct(later, 10) == 100


@PROPERTY
@given(days, st.sampled_from(JURISDICTIONS))
def test_the_next_payable_day_is_payable_and_nothing_before_it_is(day, where):
    found = next_payable_day(day, where)
    assert found >= day and is_payable_day(found, where)
    assert all(not is_payable_day(day + timedelta(days=k), where) for k in range((found - day).days))


def test_first_due_dates_skip_weekends_and_the_debtors_public_holidays():
    thanksgiving = date(2026, 11, 26)
    assert not is_payable_day(thanksgiving, "US")
    assert next_payable_day(thanksgiving, "US") == date(2026, 11, 27)
    assert next_payable_day(thanksgiving, "US-TX") == date(2026, 11, 30)  # Texas: the day after too
    assert next_payable_day(date(2026, 12, 25), "GB") == date(2026, 12, 29)  # Christmas, Boxing Day
    assert next_payable_day(date(2026, 12, 26), "XX") == date(2026, 12, 28)  # weekends only


@PROPERTY
@given(days, st.integers(0, 120))
def test_add_months_keeps_the_day_or_the_months_last_day(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved + timedelta(days=1)).day == 1 and moved.day < day.day


def test_month_ends_and_leap_years():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 1, 31), 2, 31) == date(2025, 3, 31)


def test_policies_are_validated():
    import pytest

    from ledger.domain.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        validate_terms([], 12, 2500, 365, {})
    with pytest.raises(InvalidRequest):
        validate_terms([SettlementTier(0, 80)], 12, 2500, 365, {"auditor": RoleAuthority(1, 1)})
    with pytest.raises(InvalidRequest):
        validate_terms([SettlementTier(0, 101)], 12, 2500, 365, {})
    terms = validate_terms([SettlementTier(0, 80)], 12, 2500, 365, {})
    assert isinstance(terms, OfferTerms) and terms.authority_of("agent") == RoleAuthority(0, 100)
    assert terms.authority_of("admin") is None
