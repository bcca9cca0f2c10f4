"""Contact rules as data, and the shapes compliance answers come in.

Rule codes (the ``rule`` of a :class:`Reason` or :class:`~ledger.domain.values.Breach`),
stable snake_case strings that reports and clients may match on:

``outside_hours``        contact outside the allowed local hours (US/GB 08:00-21:00, CN 08:00-22:00)
``call_frequency``       US Reg F: more than 7 call attempts within 7 consecutive local days
``recent_conversation``  US Reg F: a call within 7 days after a phone conversation
``unanswered_attempts``  CN: more than 6 unanswered dial attempts in one local day
``connected_calls``      CN: more than 3 connected calls in one local day
``third_party``          CN: contact reached someone other than the debtor
``cease``                the debtor asked us to cease all communication
``channel_opt_out``      the debtor opted out of this channel
``dispute_open``         a dispute is open; collection contact waits for its resolution
``hold``                 a hold (hardship, breathing space, bankruptcy, deceased, ...) is active
``case_closed``          the case is closed
``opted_out``            the debtor opted out of this channel by message (STOP, unsubscribe)
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from ledger.domain.values import CallRecord, Channel, HoldKind, HoldWindow

RULE_CODES = (
    "outside_hours", "call_frequency", "recent_conversation", "unanswered_attempts",
    "connected_calls", "third_party", "cease", "channel_opt_out", "dispute_open", "hold",
    "case_closed", "opted_out",
)

TIMED_CHANNELS = (Channel.PHONE, Channel.SMS, Channel.EMAIL, Channel.VISIT)


class ContactRules(msgspec.Struct, frozen=True, kw_only=True):
    """Parameters of every rule; ``None`` switches a counting rule off.

    A tenant overrides any field (see :func:`ledger.domain.compliance.presets.rules_for`).
    Hours are local wall-clock ``"HH:MM"``; contact is allowed in ``[contact_start,
    contact_end)`` on the channels in ``hours_channels`` (letters are not time-bound).
    """

    preset: str
    contact_start: str = "08:00"
    contact_end: str = "21:00"
    hours_channels: tuple[Channel, ...] = TIMED_CHANNELS
    max_call_attempts: int | None = None
    call_window_days: int = 7
    conversation_quiet_days: int | None = None
    max_unanswered_per_day: int | None = None
    max_connected_per_day: int | None = None
    debtor_only: bool = False
    charge_freezing_holds: tuple[HoldKind, ...] = ()


class Reason(msgspec.Struct, frozen=True):
    """Why contact is not allowed now; ``detail`` never holds debtor personal data."""

    rule: str
    detail: str


class Decision(msgspec.Struct, frozen=True):
    """Answer to "may I contact now?".

    ``next_allowed_at`` is the earliest allowed instant (minute precision, UTC) if only
    time stands in the way, ``at`` itself when allowed, and ``None`` when a person must
    act first (cease, dispute, open-ended hold, closed case).
    """

    allowed: bool
    reasons: list[Reason]
    next_allowed_at: datetime | None


class ComplianceContext(msgspec.Struct, frozen=True, kw_only=True):
    """The small slice of case state the rules read; built by ``Case.compliance_context``.

    Keeping recent calls inside the aggregate state makes a permission check O(recent
    calls), never a replay of the history.
    """

    jurisdiction: str
    timezone: str
    closed: bool = False
    ceased_all: bool = False
    ceased_channels: tuple[Channel, ...] = ()
    open_dispute: bool = False
    holds: tuple[HoldWindow, ...] = ()
    recent_calls: tuple[CallRecord, ...] = ()
    last_conversation_at: datetime | None = None
    opted_out_channels: tuple[Channel, ...] = ()
    """Channels the debtor opted out of by replying STOP or unsubscribing (messages)."""
    since: dict[str, datetime] = {}
    """When each standing block took effect: ``cease`` (every channel), ``cease:<channel>``,
    ``opted_out:<channel>``, ``dispute`` (the oldest open one). A contact that happened
    before a block took effect (reported late) broke no rule by it; one without a time here
    is in force at every instant. ``permission`` (a contact to make) ignores these times."""
