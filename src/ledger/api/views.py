"""Turn a loaded ``Case`` into the API's response Structs (never the aggregate itself)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.api.schemas.cases import (
    ArrangementView,
    CaseView,
    DebtorView,
    DisputeView,
    HoldView,
    InstalmentView,
    OpenComplaintView,
    PendingApprovalView,
    PromiseView,
    ScoreReasonView,
    ScoreView,
)
from ledger.api.schemas.facts import BreachView, FactRecorded
from ledger.domain.case import Case
from ledger.domain.complaints.deadlines import overdue_at
from ledger.domain.compliance import (
    allowed_stands_until,
    permission,
    refusal_stands_until_next_allowed,
)
from ledger.domain.delinquency import bucket_for, days_past_due_stand_until
from ledger.domain.view import CaseView as DomainCaseView, arrangement_view
from ledger.domain.values import Channel

_encoder = msgspec.json.Encoder()
_NEVER = datetime.min.replace(tzinfo=UTC)
"""An empty window: nothing kept yet."""


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def _debtor(case: Case) -> DebtorView:
    debtor = case.debtor
    if debtor is None or debtor.erased or case.personal_data_erased:
        return DebtorView(None, None, None, None, case.timezone, case.jurisdiction, erased=True)
    return DebtorView(
        debtor.name, list(debtor.phones), list(debtor.emails), debtor.address,
        case.timezone, case.jurisdiction,
    )


def case_view(case: Case, now: datetime, kept: _Kept | None = None) -> CaseView:
    """The case as API.md shows it, aged and judged at ``now`` (with what ``kept`` holds for
    this version, when given)."""
    view = case.view(now, with_payments=False)
    open_dispute = next((d for d in case.disputes.values() if d.is_open), None)
    promise = view.active_promise
    return CaseView(
        case_id=view.case_id, version=view.version, external_ref=view.external_ref,
        portfolio=view.portfolio, product=view.product, currency=view.currency,
        placed_balance=view.placed_balance, balance=view.balance,
        principal=view.principal, interest=view.interest, fees=view.fees, credit=view.credit,
        paid_total=view.paid_total, assigned_to=view.assigned_to,
        ceased_channels=list(view.ceased_channels),
        open_dispute=(
            DisputeView(open_dispute.dispute_id, open_dispute.reason, open_dispute.opened_at)
            if open_dispute else None
        ),
        active_promise=(
            PromiseView(promise.promise_id, promise.amount, promise.due_date, str(promise.status))
            if promise else None
        ),
        last_contact_at=view.last_contact_at,
        placed_at=view.placed_at, closed_at=view.closed_at,
        close_reason=None if view.close_reason is None else str(view.close_reason),
        debtor=_debtor(case),
        pending_approvals=[
            PendingApprovalView(a.approval_id, a.kind, list(a.reasons), a.requested_at,
                                a.requested_by)
            for a in case.pending_approvals
        ],
        **_timely(case, now, view, kept),
    )


def _timely(case: Case, now: datetime, view: DomainCaseView | None = None,
            kept: _Kept | None = None) -> dict[str, Any]:
    """The fields that change with time alone: ageing, holds and deadlines passing, the next
    allowed call, the behaviour score (taking what ``view``, the domain's at ``now``, has,
    and what ``kept`` holds for this version of the case, when given)."""
    if view is None:
        dpd = case.days_past_due(now) if kept is None else kept.days_past_due(case, now)
        status, arrangement = case.status(now), arrangement_view(case, now)
    else:
        dpd, status, arrangement = view.days_past_due, view.status, view.arrangement
    return {
        "status": str(status), "days_past_due": dpd, "dpd_bucket": bucket_for(dpd),
        "holds": [
            HoldView(h.hold_id, str(h.kind), h.starts_at, h.window.until)
            for h in case.holds.values()
            if h.released_at is None and (h.window.until is None or h.window.until > now)
        ],
        "arrangement": (
            ArrangementView(
                arrangement.arrangement_id, str(arrangement.kind), str(arrangement.status),
                [InstalmentView(i.due_date, i.amount, str(i.status)) for i in arrangement.installments],
                arrangement.waive_interest, arrangement.agreed_at,
            )
            if arrangement else None
        ),
        "next_contact_allowed_at": (permission(case, Channel.PHONE, now).next_allowed_at
                                    if kept is None else kept.next_call(case, now)),
        "open_complaints": [
            OpenComplaintView(c.complaint_id, c.category, c.received_at, c.respond_by,
                              c.overdue or overdue_at(c.respond_by) <= now)
            for c in case.complaints.values() if c.resolved_at is None
        ],
        "scores": scores_view(case, now, dpd),
    }


class _Window:
    """An answer kept from ``since`` until (not including) ``until``; empty at first."""

    __slots__ = ("since", "until", "answer")

    def __init__(self) -> None:
        self.since = self.until = _NEVER
        self.answer: Any = None

    def covers(self, now: datetime) -> bool:
        return self.since <= now < self.until

    def keep(self, since: datetime, until: datetime, answer: Any) -> None:
        self.since, self.until, self.answer = since, until, answer


class _Kept:
    """What one version of a case answers at other times, kept while the answer stands.

    The next allowed call: outside calling hours its check is the costliest part of a case
    read, and within them still a sixth of the view. An allowed call stays allowed until
    ``allowed_stands_until`` (the answer is the moment of asking, kept as ``None``); asked
    again before a refusal's ``next_allowed_at``, the answer is that same instant
    (``refusal_stands_until_next_allowed``). Days past due (a pass over the payments) stand
    until ``days_past_due_stand_until``. Both property-tested in the domain."""

    __slots__ = ("_refusal_stands", "_call", "_dpd")

    def __init__(self, case: Case) -> None:
        self._refusal_stands = refusal_stands_until_next_allowed(case)
        self._call = _Window()
        self._dpd = _Window()

    def next_call(self, case: Case, now: datetime) -> datetime | None:
        if self._call.covers(now):
            return self._call.answer or now.astimezone(UTC)
        decision = permission(case, Channel.PHONE, now)
        if decision.allowed:
            self._call.keep(now, allowed_stands_until(case, Channel.PHONE, now), None)
        elif self._refusal_stands and decision.next_allowed_at is not None:
            self._call.keep(now, decision.next_allowed_at, decision.next_allowed_at)
        return decision.next_allowed_at

    def days_past_due(self, case: Case, now: datetime) -> int:
        if self._dpd.covers(now):
            return self._dpd.answer  # type: ignore[no-any-return]
        days = case.days_past_due(now)
        self._dpd.keep(now, days_past_due_stand_until(case.payments.values(), case.timezone,
                                                      now), days)
        return days


class CurrentViews:
    """``case_view`` of cases as they stand, rebuilt in full only when a case's version changed.

    A case read is the hottest route, and most of its view (amounts, debtor, promise, dispute,
    approvals) changes only with a new event; what changes with time alone (``_timely``) is
    worked out again on every read, but for the next allowed call and the days past due,
    kept while they stand (``_Kept``). Bounded like the case cache (least recently read first).
    Only for the case now: a view ``as_of`` a past time is not the view of any version.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._views: OrderedDict[UUID, tuple[CaseView, _Kept]] = OrderedDict()

    def of(self, case: Case, now: datetime) -> CaseView:
        known = self._views.get(case.id)
        if known is not None and known[0].version == case.version:
            self._views.move_to_end(case.id)
            view, kept = known
            return msgspec.structs.replace(view, **_timely(case, now, kept=kept))
        kept = _Kept(case)
        view = case_view(case, now, kept)
        self._views[case.id] = (view, kept)
        self._views.move_to_end(case.id)
        if len(self._views) > self.capacity:
            self._views.popitem(last=False)
        return view


def scores_view(case: Case, at: datetime, days_past_due: int | None = None) -> dict[str, ScoreView]:
    """Each model's latest score, and ``behaviour`` computed from the case's facts at ``at``."""
    found = {model: ScoreView(s.value, s.model_version, s.scored_at)
             for model, s in sorted(case.scores.items())}
    behaviour = case.behaviour(at, days_past_due)
    found["behaviour"] = ScoreView(behaviour.value, behaviour.model_version, at,
                                   [ScoreReasonView(r.code, r.points) for r in behaviour.reasons])
    return found


def fact_recorded(case: Case, now: datetime, **extra: Any) -> FactRecorded:
    """The common ``201`` body of a recorded fact."""
    breaches = extra.pop("breaches", None)
    return FactRecorded(
        case_id=case.id, version=case.version, status=str(case.status(now)),
        balance=case.balance,
        breaches=None if breaches is None else [BreachView(b.rule, b.detail) for b in breaches],
        **extra,
    )
