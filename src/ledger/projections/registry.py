"""Every projection by name: what ``ledger project`` runs and ``ledger rebuild`` knows."""

from __future__ import annotations

from ledger.projections.audit import AuditProjection
from ledger.projections.breaches import BreachesProjection
from ledger.projections.cases import CasesProjection
from ledger.projections.contacts import ContactsProjection
from ledger.projections.framework import Projection
from ledger.projections.negotiation import NegotiationProjection
from ledger.projections.strategies import StrategiesProjection


def all_projections() -> list[Projection]:
    """A fresh instance of every projection, in a stable order."""
    return [CasesProjection(), ContactsProjection(), BreachesProjection(), AuditProjection(),
            NegotiationProjection(), StrategiesProjection()]


NAMES = tuple(p.name for p in all_projections())


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    raise KeyError(name)
