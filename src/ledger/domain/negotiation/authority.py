"""Authority limits: what a role may agree alone, and who may approve the rest.

``arrangement_reasons`` and ``waiver_reasons`` list why a request goes beyond the asking
role's authority or the portfolio's policy (empty: it may be applied at once). A checker
may approve a request when it is within *their* authority: settlement and waiver
percentages against their role's limits; instalment counts and terms beyond the policy are
exceptions any supervisor (or admin) may grant. Percentages compare exactly in integers.

A waiver's percentage is cumulative: everything already waived on the case plus this one, of
the balance before those waivers (``waived_before`` added back), so a limit cannot be
walked past in small steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ledger.domain.negotiation.terms import OfferTerms
from ledger.domain.values import ArrangementKind, Instalment

SETTLEMENT_BELOW_AUTHORITY = "settlement_below_authority"
WAIVER_ABOVE_AUTHORITY = "waiver_above_authority"
INSTALLMENTS_ABOVE_POLICY = "installments_above_policy"
TERM_ABOVE_POLICY = "term_above_policy"
REASONS = (SETTLEMENT_BELOW_AUTHORITY, WAIVER_ABOVE_AUTHORITY, INSTALLMENTS_ABOVE_POLICY,
           TERM_ABOVE_POLICY)
POLICY_EXCEPTION_ROLES = ("supervisor", "admin")


def below_pct(amount: int, balance: int, pct: int) -> bool:
    """``amount`` is less than ``pct`` % of ``balance``."""
    return amount * 100 < pct * balance


def above_pct(amount: int, balance: int, pct: int) -> bool:
    """``amount`` is more than ``pct`` % of ``balance``."""
    return amount * 100 > pct * balance


def settlement_reasons(terms: OfferTerms, role: str, settlement: int, balance: int) -> list[str]:
    limits = terms.authority_of(role)
    if limits is not None and below_pct(settlement, balance, limits.min_settlement_pct):
        return [SETTLEMENT_BELOW_AUTHORITY]
    return []


def waiver_reasons(terms: OfferTerms, role: str, amount: int, balance: int,
                   waived_before: int = 0) -> list[str]:
    """Why waiving ``amount`` of ``balance`` needs approval, ``waived_before`` already waived."""
    limits = terms.authority_of(role)
    if limits is not None and amount > 0 and above_pct(
            waived_before + amount, balance + waived_before, limits.max_waiver_pct):
        return [WAIVER_ABOVE_AUTHORITY]
    return []


def plan_reasons(terms: OfferTerms, role: str, plan: Sequence[Instalment],
                 agreed_on: date) -> list[str]:
    if role == "admin":
        return []
    reasons = []
    if len(plan) > terms.max_installments:
        reasons.append(INSTALLMENTS_ABOVE_POLICY)
    if (plan[-1].due_date - agreed_on).days > terms.max_term_days:
        reasons.append(TERM_ABOVE_POLICY)
    return reasons


def arrangement_reasons(
    terms: OfferTerms, role: str, *, kind: ArrangementKind, plan: Sequence[Instalment],
    waived_interest: int, balance: int, agreed_on: date, waived_before: int = 0,
) -> list[str]:
    """Why an arrangement needs approval when ``role`` asks for it (empty: it does not).

    ``balance`` is the balance before the arrangement; ``waived_interest`` the interest it
    would waive (0 without ``waive_interest``); ``waived_before`` what the case's waivers took
    off already.
    """
    reasons = []
    if kind is ArrangementKind.SETTLEMENT:
        reasons += settlement_reasons(terms, role, sum(i.amount for i in plan), balance)
    reasons += plan_reasons(terms, role, plan, agreed_on)
    reasons += waiver_reasons(terms, role, waived_interest, balance, waived_before)
    return reasons


def checker_may_approve(role: str, current_reasons: Sequence[str]) -> bool:
    """Whether ``role`` may approve a request.

    ``current_reasons`` are the reasons the same request would need approval for if the
    checker asked for it now: none of the percentage ones may remain (they are personal
    limits), while policy exceptions (instalments, term) are for supervisors and admins.
    """
    if role == "admin":
        return True
    if role not in POLICY_EXCEPTION_ROLES:
        return False
    personal = {SETTLEMENT_BELOW_AUTHORITY, WAIVER_ABOVE_AUTHORITY}
    return not personal.intersection(current_reasons)
