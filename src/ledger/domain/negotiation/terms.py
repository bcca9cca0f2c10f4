"""The offer policy document of a portfolio and its validation.

Percentages are whole numbers 0–100 of the case's balance at the moment of the offer or the
request. A role without an ``authority`` entry may give nothing away alone (waivers 0 %,
settlements 100 %); ``admin`` is never limited.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from ledger.domain.errors import InvalidRequest

MAX_POLICY_INSTALMENTS = 600
MAX_POLICY_TERM_DAYS = 3650
MAX_TIERS = 50
LIMITED_ROLES = ("agent", "supervisor")
"""Roles whose authority a policy sets (admin is unlimited; other roles cannot negotiate)."""


class SettlementTier(msgspec.Struct, frozen=True):
    """From ``dpd_min`` days past due on, a settlement may go down to ``pct`` % of the balance."""

    dpd_min: int
    pct: int


class RoleAuthority(msgspec.Struct, frozen=True):
    """What one role may give away without a second person's approval."""

    max_waiver_pct: int
    min_settlement_pct: int


NO_AUTHORITY = RoleAuthority(max_waiver_pct=0, min_settlement_pct=100)


class OfferTerms(msgspec.Struct, frozen=True):
    """One version of a portfolio's offer policy (API.md ``PUT /v1/policies/{portfolio}``)."""

    settlement_min_pct: tuple[SettlementTier, ...]
    max_installments: int
    min_installment: int
    max_term_days: int
    authority: dict[str, RoleAuthority]

    def authority_of(self, role: str) -> RoleAuthority | None:
        """The role's limits; None means unlimited (admin)."""
        if role == "admin":
            return None
        return self.authority.get(role, NO_AUTHORITY)


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(field, f"must be a whole number from {low} to {high}")
    return value


def validate_terms(
    settlement_min_pct: object, max_installments: object, min_installment: object,
    max_term_days: object, authority: object,
) -> OfferTerms:
    """A valid ``OfferTerms`` (tiers sorted by ``dpd_min``) or ``InvalidRequest``."""
    if not isinstance(settlement_min_pct, (list, tuple)) or not 1 <= len(settlement_min_pct) <= MAX_TIERS:
        raise InvalidRequest("settlement_min_pct", f"must list 1 to {MAX_TIERS} tiers")
    tiers = []
    for index, tier in enumerate(settlement_min_pct):
        if not isinstance(tier, SettlementTier):
            raise InvalidRequest(f"settlement_min_pct[{index}]", "must be {dpd_min, pct}")
        tiers.append(SettlementTier(
            _whole(tier.dpd_min, f"settlement_min_pct[{index}].dpd_min", 0, 36_500),
            _whole(tier.pct, f"settlement_min_pct[{index}].pct", 1, 100)))
    tiers.sort(key=lambda t: t.dpd_min)
    if len({t.dpd_min for t in tiers}) != len(tiers):
        raise InvalidRequest("settlement_min_pct", "each dpd_min may appear once")
    if not isinstance(authority, Mapping):
        raise InvalidRequest("authority", "must map roles to their limits")
    limits = {}
    for role, limit in authority.items():
        if role not in LIMITED_ROLES:
            raise InvalidRequest("authority", f"roles may be {', '.join(LIMITED_ROLES)}")
        if not isinstance(limit, RoleAuthority):
            raise InvalidRequest(f"authority.{role}", "must be {max_waiver_pct, min_settlement_pct}")
        limits[role] = RoleAuthority(
            _whole(limit.max_waiver_pct, f"authority.{role}.max_waiver_pct", 0, 100),
            _whole(limit.min_settlement_pct, f"authority.{role}.min_settlement_pct", 0, 100))
    return OfferTerms(
        settlement_min_pct=tuple(tiers),
        max_installments=_whole(max_installments, "max_installments", 1, MAX_POLICY_INSTALMENTS),
        min_installment=_whole(min_installment, "min_installment", 1, 10**12),
        max_term_days=_whole(max_term_days, "max_term_days", 1, MAX_POLICY_TERM_DAYS),
        authority=dict(sorted(limits.items())),
    )
