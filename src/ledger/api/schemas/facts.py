"""Bodies of the commands that record a fact about a case, and their common result."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.api.schemas.common import NOT_BLANK, AgentId, Amount, Currency, Day, Instant, Reason, Ref, Request

ChannelName = Literal["phone", "sms", "email", "letter", "visit"]


class RecordContact(Request):
    """A contact attempt that happened. It is recorded even if it broke a rule."""

    channel: ChannelName
    direction: Literal["outbound", "inbound"]
    outcome: Literal["no_answer", "busy", "voicemail", "right_party", "third_party",
                     "wrong_number", "refused", "delivered", "bounced"]
    occurred_at: Instant
    agent_id: AgentId | None = None
    """Required unless the key is bound to an agent (then it defaults to that agent)."""
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=4000, pattern=NOT_BLANK)] | None = None
    duration_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400)] | None = None


class MakePromise(Request):
    """The debtor promised to pay ``amount`` by the end of ``due_date`` (their local time)."""

    amount: Amount
    due_date: Day
    made_at: Instant
    agent_id: AgentId | None = None
    """Required unless the key is bound to an agent (then it defaults to that agent)."""


class ReceivePayment(Request):
    """Money received. Idempotent on ``external_id``: the same body again is a 200 replay."""

    external_id: Ref
    amount: Amount
    currency: Currency
    received_at: Instant
    method: Literal["card", "ach", "wire", "cash", "check", "other"]


class ReversePayment(Request):
    """A payment was returned (bounced cheque, chargeback)."""

    reason: Reason
    reversed_at: Instant


class InstalmentIn(Request):
    due_date: Day
    amount: Amount


class AgreeArrangement(Request):
    """An instalment plan, or a settlement for less than the balance."""

    kind: Literal["installments", "settlement"]
    installments: Annotated[list[InstalmentIn], msgspec.Meta(min_length=1, max_length=120)]
    agreed_at: Instant
    waive_interest: bool = False


class OpenDispute(Request):
    reason: Reason
    opened_at: Instant


class ResolveDispute(Request):
    """Close a dispute; an upheld dispute may carry an ``adjustment`` (minor units waived)."""

    outcome: Literal["upheld", "rejected"]
    resolved_at: Instant
    adjustment: Amount | None = None


class CeaseCommunication(Request):
    """The debtor asked us to stop contacting them (on ``channels``, or on all if omitted)."""

    received_at: Instant
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=5)] | None = None


class PlaceHold(Request):
    """Stop collection for a while (hardship, breathing space, ...) or indefinitely."""

    kind: Literal["hardship", "breathing_space", "bankruptcy", "deceased", "other"]
    starts_at: Instant
    until: Instant | None = None


class ReleaseHold(Request):
    released_at: Instant


class Assign(Request):
    """Assign the case to an agent or an agency (exactly one of them)."""

    agent_id: AgentId | None = None
    agency: AgentId | None = None
    assigned_at: Instant | None = None
    """Defaults to now."""


class Escalate(Request):
    """Escalate to legal collection."""

    reason: Reason
    escalated_at: Instant


class AdjustBalance(Request):
    """Interest or fee accrual (raises the balance) or a waiver (lowers it)."""

    kind: Literal["interest", "fee", "waiver"]
    amount: Amount
    reason: Reason
    occurred_at: Instant


class AddNote(Request):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class CloseCase(Request):
    reason: Literal["paid", "settled", "written_off", "recalled", "bankrupt", "deceased", "sold"]
    closed_at: Instant


class ReopenCase(Request):
    reason: Reason
    reopened_at: Instant


class BreachView(msgspec.Struct, frozen=True):
    """A compliance rule the recorded contact broke."""

    rule: str
    detail: str


class FactRecorded(msgspec.Struct, frozen=True, omit_defaults=True):
    """The fact was recorded: the case's new ``version`` (use it in ``If-Match``) and new ids."""

    case_id: UUID
    version: int
    status: str
    balance: int
    breaches: list[BreachView] | None = None
    """Contacts only: every rule the contact broke (empty when compliant)."""
    promise_id: UUID | None = None
    payment_external_id: str | None = None
    arrangement_id: UUID | None = None
    dispute_id: UUID | None = None
    adjustment_approval_id: UUID | None = None
    """A dispute's adjustment beyond the caller's waiver authority: the approval it waits for."""
    hold_id: UUID | None = None
