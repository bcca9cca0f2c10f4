"""Facts that protect the debtor: disputes, cease requests and holds."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar.params import FromPath, JSONBody
from litestar import Controller, Request, post

from ledger.api import auth
from ledger.api.commands import record_fact
from ledger.api.docs import responses
from ledger.api.negotiation import key_holder, policy_for_case
from ledger.api.schemas.facts import (
    CeaseCommunication,
    FactRecorded,
    OpenDispute,
    PlaceHold,
    ReleaseHold,
    ResolveDispute,
)
from ledger.domain.case import Case
from ledger.services.negotiation import NegotiationService


class DisputeController(Controller):
    """Disputes of the debt and their resolution."""

    path = "/v1/cases"
    tags = ["disputes"]

    @post(
        "/{case_id:uuid}/disputes", operation_id="openDispute", status_code=201,
        opt=auth.allow(*auth.SHARED_WRITES), responses=responses(404, 409, 412),
    )
    async def open_dispute(self, request: Request, case_id: FromPath[UUID], data: JSONBody[OpenDispute]) -> FactRecorded:
        """Open a dispute; collection contact waits for its resolution. Refusals: ``dispute_open``."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.open_dispute(reason=data.reason, opened_at=data.opened_at, now=now),
            lambda dispute_id: {"dispute_id": dispute_id},
        )

    @post(
        "/{case_id:uuid}/disputes/{dispute_id:uuid}/resolution", operation_id="resolveDispute",
        status_code=201, opt=auth.allow(*auth.SHARED_WRITES),
        responses=responses(404, 409, 412),
    )
    async def resolve_dispute(
        self, request: Request, case_id: FromPath[UUID], dispute_id: FromPath[UUID], data: JSONBody[ResolveDispute]
    ) -> FactRecorded:
        """Resolve an open dispute, optionally waiving ``adjustment`` (upheld disputes only).
        The adjustment is a waiver: above the caller role's ``max_waiver_pct`` under the
        portfolio's offer policy it is not applied but waits for approval (``adjustment_approval_id``; ``POST
        /v1/approvals/{id}/decision``) while the resolution is recorded. Refusals:
        ``unknown_dispute``, ``waiver_exceeds_balance``."""
        policy = await policy_for_case(request, case_id) if data.adjustment is not None else None
        asker = key_holder(request.user)
        parked: list[UUID] = []

        def command(case: Case, now: datetime) -> None:
            negotiated = case.negotiate_dispute_resolution(
                dispute_id=dispute_id, outcome=data.outcome, resolved_at=data.resolved_at,
                adjustment=data.adjustment, asker=asker, policy=policy, now=now)
            parked[:] = [negotiated.approval_id] if negotiated.approval_id else []

        response = await record_fact(
            request, case_id, command,
            lambda _: {"dispute_id": dispute_id,
                       "adjustment_approval_id": parked[0] if parked else None})
        if parked and response.status_code == 201:
            negotiation: NegotiationService = request.app.state.negotiation
            await negotiation.remember_approval(request.user.tenant_id, parked[0], case_id)
        return response  # type: ignore[return-value]


class CeaseController(Controller):
    """Requests to stop contact."""

    path = "/v1/cases"
    tags = ["cease"]

    @post(
        "/{case_id:uuid}/cease", operation_id="ceaseCommunication", status_code=201,
        opt=auth.allow(*auth.SHARED_WRITES), responses=responses(404, 409, 412),
    )
    async def cease(self, request: Request, case_id: FromPath[UUID], data: JSONBody[CeaseCommunication]) -> FactRecorded:
        """The debtor asked us to stop contacting them on ``channels`` (all when omitted)."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.cease_communication(
                received_at=data.received_at, channels=data.channels, now=now
            ),
        )


class HoldController(Controller):
    """Holds that pause collection, and their release."""

    path = "/v1/cases"
    tags = ["holds"]

    @post(
        "/{case_id:uuid}/holds", operation_id="placeHold", status_code=201,
        opt=auth.allow(*auth.SHARED_WRITES), responses=responses(404, 409, 412),
    )
    async def place_hold(self, request: Request, case_id: FromPath[UUID], data: JSONBody[PlaceHold]) -> FactRecorded:
        """Pause collection from ``starts_at`` (may be ahead) until ``until`` (open-ended if omitted)."""

        def command(case, now):  # type: ignore[no-untyped-def]
            return case.place_hold(kind=data.kind, starts_at=data.starts_at, until=data.until,
                                   occurred_at=min(now, data.starts_at))

        return await record_fact(  # type: ignore[return-value]
            request, case_id, command, lambda hold_id: {"hold_id": hold_id}
        )

    @post(
        "/{case_id:uuid}/holds/{hold_id:uuid}/release", operation_id="releaseHold",
        status_code=201, opt=auth.allow(*auth.SHARED_WRITES),
        responses=responses(404, 409, 412),
    )
    async def release_hold(
        self, request: Request, case_id: FromPath[UUID], hold_id: FromPath[UUID], data: JSONBody[ReleaseHold]
    ) -> FactRecorded:
        """Release a hold. Refusals: ``unknown_hold``; ``hold_for_open_complaint`` (a
        complaint's ``pause_collection`` hold ends with the complaint's resolution)."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.release_hold(hold_id=hold_id, released_at=data.released_at, now=now),
            lambda _: {"hold_id": hold_id},
        )

