"""The ``OfferPolicy`` aggregate: one portfolio's offer policy, versioned by its events.

Its own stream (id derived from tenant and portfolio), so every change is in the feed, the
audit trail and the hash chain like a case's facts. Saving the same document again records
nothing: a version is a change.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.negotiation.terms import OfferTerms
from ledger.domain.timeutil import aware_utc
from ledger.domain.validation import required_text

# Fixed forever: policy ids of every existing tenant are derived from it.
POLICY_NAMESPACE = UUID("0c7f3e56-5a0e-4c61-b0d4-6c1f1c3b2a90")


def policy_id_for(tenant_id: str, portfolio: str) -> UUID:
    return uuid5(POLICY_NAMESPACE, f"{tenant_id}\x00{portfolio}")


class OfferPolicy(Aggregate):
    """What a portfolio may offer and who may give away how much."""

    class Defined(Aggregate.Created):
        tenant_id: str
        portfolio: str
        terms: OfferTerms

    class Revised(Aggregate.Event):
        terms: OfferTerms

    def __init__(self, tenant_id: str, portfolio: str, terms: OfferTerms) -> None:
        self.tenant_id, self.portfolio, self.terms = tenant_id, portfolio, terms

    @classmethod
    def define(cls, *, tenant_id: str, portfolio: str, terms: OfferTerms,
               at: datetime) -> OfferPolicy:
        if not isinstance(terms, OfferTerms):
            raise TypeError("terms must be OfferTerms")
        return cls._create(
            cls.Defined, id=policy_id_for(tenant_id, portfolio),
            timestamp=aware_utc(at, "at"), tenant_id=required_text(tenant_id, "tenant_id", 255),
            portfolio=required_text(portfolio, "portfolio", 255), terms=terms,
        )

    def revise(self, *, terms: OfferTerms, at: datetime) -> bool:
        """Record a new version; False (nothing recorded) when ``terms`` are the current ones."""
        if terms == self.terms:
            return False
        self._revised(timestamp=aware_utc(at, "at"), terms=terms)
        return True

    @event(Revised)
    def _revised(self, timestamp: datetime, terms: OfferTerms) -> None:
        self.terms = terms
