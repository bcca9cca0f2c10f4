"""The ``Strategy`` aggregate: a named, versioned contact strategy of one tenant.

Its own stream (id derived from tenant and name, so saving the same name again makes the
next version of the same strategy). Versions are never edited: a save appends a new one.
Activating a version puts it in force for its portfolios and replaces the version active
before; a version that overlaps another strategy's active portfolios is refused.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.strategy.document import StrategyDocument, check
from ledger.domain.strategy.evaluation import ActiveStrategy
from ledger.domain.timeutil import aware_utc

# Fixed forever: strategy ids of every tenant are derived from it.
STRATEGY_NAMESPACE = UUID("0b5e1c7a-4f42-4d3c-9d8e-5a7e2c1f9b11")


def strategy_id_for(tenant_id: str, name: str) -> UUID:
    return uuid5(STRATEGY_NAMESPACE, f"{tenant_id}\x00{name}")


class StrategyConflict(DomainError):
    """Another strategy is already active for one of the portfolios."""

    code = "strategy_conflict"


class UnknownVersion(InvalidRequest):
    def __init__(self, version: int) -> None:
        super().__init__("version", f"strategy has no version {version}")


class Strategy(Aggregate):
    """Versions of one strategy document and which of them is active."""

    class Registered(Aggregate.Created):
        tenant_id: str
        name: str

    class VersionSaved(Aggregate.Event):
        number: int
        document: StrategyDocument

    class Activated(Aggregate.Event):
        number: int

    def __init__(self, tenant_id: str, name: str) -> None:
        self.tenant_id, self.name = tenant_id, name
        self.versions: dict[int, StrategyDocument] = {}
        self.saved_at: dict[int, datetime] = {}
        self.activated_at: dict[int, datetime] = {}
        self.active_version: int | None = None

    @classmethod
    def register(cls, *, tenant_id: str, name: str, now: datetime) -> Strategy:
        return cls._create(  # type: ignore[no-any-return]
            cls.Registered, id=strategy_id_for(tenant_id, name), timestamp=aware_utc(now, "now"),
            tenant_id=tenant_id, name=name,
        )

    # ---- commands -----------------------------------------------------------------

    def save_version(self, document: StrategyDocument, now: datetime, **checks: object) -> list[str]:
        """Validate and store ``document`` as the next version; returns the warnings."""
        if document.name != self.name:
            raise InvalidRequest("name", "differs from the strategy's name")
        warnings = check(document, **checks)  # type: ignore[arg-type]
        self._version_saved(timestamp=aware_utc(now, "now"), number=len(self.versions) + 1,
                            document=document)
        return warnings

    def activate(self, number: int, others: list[ActiveStrategy], now: datetime) -> bool:
        """Put version ``number`` in force; False if it already was (nothing recorded)."""
        document = self.versions.get(number)
        if document is None:
            raise UnknownVersion(number)
        if self.active_version == number:
            return False
        mine = set(document.portfolios)
        for other in others:
            overlap = mine & set(other.document.portfolios)
            if other.strategy_id != self.id and overlap:
                raise StrategyConflict(
                    f"portfolio {sorted(overlap)[0]!r} is in active strategy "
                    f"{other.document.name!r}")
        self._activated(timestamp=aware_utc(now, "now"), number=number)
        return True

    # ---- reading ------------------------------------------------------------------

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    def status_of(self, number: int) -> str:
        """``active``, ``retired`` (active once, replaced since) or ``draft``."""
        if number == self.active_version:
            return "active"
        return "retired" if number in self.activated_at else "draft"

    def active(self) -> ActiveStrategy | None:
        if self.active_version is None:
            return None
        return ActiveStrategy(self.id, self.active_version, self.versions[self.active_version])

    # ---- events -------------------------------------------------------------------

    @event(VersionSaved)
    def _version_saved(self, timestamp: datetime, number: int, document: StrategyDocument) -> None:
        self.versions[number] = document
        self.saved_at[number] = timestamp

    @event(Activated)
    def _activated(self, timestamp: datetime, number: int) -> None:
        self.active_version = number
        self.activated_at[number] = timestamp
