"""Money facts: payments, reversals and balance adjustments."""

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
from ledger.api.schemas.facts import AdjustBalance, FactRecorded, ReceivePayment, ReversePayment

PAYMENT_EXAMPLE = {"external_id": "PMT-88121", "amount": 30000, "currency": "USD",
                   "received_at": "2026-10-02T15:04:05Z", "method": "ach"}


class PaymentController(Controller):
    """Payments posted by the bank, and their reversals."""

    path = "/v1/cases"
    tags = ["payments"]

    @post(
        "/{case_id:uuid}/payments", operation_id="receivePayment", status_code=201,
        opt=auth.allow(*auth.MONEY),
        responses=responses(200, 404, 409, 412, ok=FactRecorded,
                            ok_description="Same `external_id` and body as a recorded payment: replay"),
    )
    async def receive_payment(
        self, request: Request, case_id: FromPath[UUID],
        data: Annotated[ReceivePayment, Body(examples=[Example(value=PAYMENT_EXAMPLE)])],
    ) -> FactRecorded:
        """Record a payment, allocated fees → interest → principal. Idempotent on
        ``external_id``: the same body again is ``200``, a different one ``409 duplicate_payment``.
        Refusals: ``currency_mismatch``. Recorded on closed cases too (money moved)."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.receive_payment(
                external_id=data.external_id, amount=data.amount, currency=data.currency,
                received_at=data.received_at, method=data.method, now=now,
            ),
            lambda receipt: {"payment_external_id": receipt.external_id},
            replay_status=lambda receipt: 200 if receipt.replayed else 201,
        )

    @post(
        "/{case_id:uuid}/payments/{external_id:str}/reversal", operation_id="reversePayment",
        status_code=201, opt=auth.allow(*auth.MONEY), responses=responses(404, 409, 412),
    )
    async def reverse_payment(
        self, request: Request, case_id: FromPath[UUID], external_id: FromPath[str],
        data: JSONBody[ReversePayment],
    ) -> FactRecorded:
        """Reverse a recorded payment (bounced, charged back). Refusals: ``unknown_payment``,
        ``already_reversed``."""
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.reverse_payment(
                external_id=external_id, reason=data.reason, reversed_at=data.reversed_at, now=now
            ),
            lambda _: {"payment_external_id": external_id},
        )


class AdjustmentController(Controller):
    """Interest and fee accruals, and waivers."""

    path = "/v1/cases"
    tags = ["adjustments"]

    @post(
        "/{case_id:uuid}/adjustments", operation_id="adjustBalance", status_code=201,
        opt=auth.allow(*auth.SUPERVISION),
        responses={**responses(404, 409, 412), **PENDING_RESPONSE},
    )
    async def adjust(self, request: Request, case_id: FromPath[UUID], data: JSONBody[AdjustBalance]) -> FactRecorded:
        """Add interest or a fee, or waive part of the balance. Refusals:
        ``waiver_exceeds_balance``, ``case_closed``, ``charges_frozen`` (breathing space).
        Under a portfolio offer policy, a waiver above the caller role's ``max_waiver_pct``
        of the balance is not applied: ``202`` with an ``approval_id``."""
        if data.kind == "waiver":
            policy = await policy_for_case(request, case_id)
            asker = key_holder(request.user)
            return await negotiate(  # type: ignore[return-value]
                request, case_id,
                lambda case, now: case.negotiate_waiver(
                    amount=data.amount, reason=data.reason, occurred_at=data.occurred_at,
                    asker=asker, policy=policy, now=now,
                ),
                lambda _: {},
            )
        return await record_fact(  # type: ignore[return-value]
            request, case_id,
            lambda case, now: case.adjust_balance(
                kind=data.kind, amount=data.amount, reason=data.reason,
                occurred_at=data.occurred_at, now=now,
            ),
        )
