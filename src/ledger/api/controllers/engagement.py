"""Working a case: contacts, promises, arrangements and notes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, post
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, JSONBody

from ledger.api import auth
from ledger.api.commands import record_fact
from ledger.api.docs import responses
from ledger.api.negotiation import PENDING_RESPONSE, key_holder, negotiate, policy_for_case
from ledger.api.principal import agent_for
from ledger.api.schemas.facts import (
    AddNote,
    AgreeArrangement,
    FactRecorded,
    MakePromise,
    RecordContact,
)
from ledger.domain.values import Instalment

CONTACT_EXAMPLE = {"channel": "phone", "direction": "outbound", "outcome": "right_party",
                   "occurred_at": "2026-10-01T15:30:00Z", "agent_id": "agent-7",
                   "duration_seconds": 240}
PROMISE_EXAMPLE = {"amount": 20000, "due_date": "2026-11-30", "made_at": "2026-10-01T15:35:00Z",
                   "agent_id": "agent-7"}
ARRANGEMENT_EXAMPLE = {"kind": "installments", "waive_interest": True,
                       "agreed_at": "2026-10-01T15:40:00Z",
                       "installments": [{"due_date": "2026-11-01", "amount": 50000},
                                        {"due_date": "2026-12-01", "amount": 50000}]}


class ContactController(Controller):
    """Contact attempts, recorded as facts even when they broke a rule."""

    path = "/v1/cases"
    tags = ["contacts"]

    @post(
        "/{case_id:uuid}/contacts", operation_id="recordContact", status_code=201,
        opt=auth.allow(*auth.AGENT_WORK), responses=responses(404, 409, 412),
    )
    async def record_contact(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[RecordContact, Body(examples=[Example(value=CONTACT_EXAMPLE)])],
    ) -> FactRecorded:
        """Record a contact; ``breaches`` lists every compliance rule it broke (it is recorded
        regardless). Refusals: ``case_closed``. A key bound to an agent records as that agent
        (``agent_id`` may be omitted; another agent is ``403 agent_mismatch``)."""
        agent = agent_for(request, data.agent_id)
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.record_contact(
                channel=data.channel, direction=data.direction, outcome=data.outcome,
                occurred_at=data.occurred_at, agent_id=agent, note=data.note,
                duration_seconds=data.duration_seconds, now=now,
            ),
            lambda found: {"breaches": found},
        )


class PromiseController(Controller):
    """Promises to pay."""

    path = "/v1/cases"
    tags = ["promises"]

    @post(
        "/{case_id:uuid}/promises", operation_id="makePromise", status_code=201,
        opt=auth.allow(*auth.AGENT_WORK), responses=responses(404, 409, 412),
    )
    async def make_promise(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[MakePromise, Body(examples=[Example(value=PROMISE_EXAMPLE)])],
    ) -> FactRecorded:
        """The debtor promised ``amount`` by the end of ``due_date`` (their local time).
        Refusals: ``case_closed``, ``promise_exceeds_balance``, ``due_date_in_past``,
        ``promise_pending``. A key bound to an agent records as that agent (``agent_id`` may be
        omitted; another agent is ``403 agent_mismatch``)."""
        agent = agent_for(request, data.agent_id)
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.make_promise(
                amount=data.amount, due_date=data.due_date, made_at=data.made_at,
                agent_id=agent, now=now,
            ),
            lambda promise_id: {"promise_id": promise_id},
        )


class ArrangementController(Controller):
    """Instalment plans and settlements."""

    path = "/v1/cases"
    tags = ["arrangements"]

    @post(
        "/{case_id:uuid}/arrangements", operation_id="agreeArrangement", status_code=201,
        opt=auth.allow(*auth.AGENT_WORK),
        responses={**responses(404, 409, 412), **PENDING_RESPONSE},
    )
    async def agree(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[AgreeArrangement, Body(examples=[Example(value=ARRANGEMENT_EXAMPLE)])],
    ) -> FactRecorded:
        """Agree an instalment plan or a settlement. Refusals: ``case_closed``,
        ``arrangement_active``, ``arrangement_exceeds_balance``, ``due_date_in_past``.
        Under a portfolio offer policy, a settlement below the caller role's
        ``min_settlement_pct``, more instalments or a longer term than the policy, or waived
        interest above ``max_waiver_pct`` is not applied: ``202`` with an ``approval_id``."""
        plan = [Instalment(i.due_date, i.amount) for i in data.installments]
        policy = await policy_for_case(request, case_id)
        asker = key_holder(request.user)
        return await negotiate(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.negotiate_arrangement(
                kind=data.kind, instalments=plan, waive_interest=data.waive_interest,
                agreed_at=data.agreed_at, asker=asker, policy=policy, now=now,
            ),
            lambda done: {"arrangement_id": done.fact_id},
        )


class NoteController(Controller):
    """Free-text notes (never shown to anyone but the tenant's users)."""

    path = "/v1/cases"
    tags = ["notes"]

    @post(
        "/{case_id:uuid}/notes", operation_id="addNote", status_code=201,
        opt=auth.allow(*auth.AGENT_WORK), responses=responses(404, 409, 412),
    )
    async def add_note(self, request: Request, case_id: FromPath[UUID], data: JSONBody[AddNote]) -> FactRecorded:
        """Add a note (≤ 4,000 characters), authored by the calling key, timed now."""
        author = request.user.actor
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.add_note(text=data.text, occurred_at=now, author=author),
        )
