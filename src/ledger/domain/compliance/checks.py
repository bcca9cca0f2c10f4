"""The two compliance questions, as pure functions.

``permission`` answers *before* a contact: every rule that blocks it and the earliest
instant it becomes allowed. ``breaches`` judges a contact that already happened; the case
records it regardless and keeps the breaches in the ``ContactRecorded`` event.

Each time-bound rule reports the first instant at which it stops blocking; blocked
periods are contiguous, so jumping to the latest of those instants and asking again
finds the earliest allowed instant in a handful of steps, DST included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from ledger.domain.compliance.presets import rules_for
from ledger.domain.compliance.rules import ComplianceContext, ContactRules, Decision, Reason
from ledger.domain.timeutil import (
    aware_utc,
    ceil_minute,
    local_date,
    local_instant,
    parse_hhmm,
    start_of_local_day,
    zone,
)
from ledger.domain.values import (
    CONNECTED_OUTCOMES,
    UNANSWERED_OUTCOMES,
    Breach,
    CallRecord,
    Channel,
    Direction,
    Outcome,
)

_MAX_STEPS = 64

Blocker = tuple[Reason, datetime | None]


class HasComplianceContext(Protocol):
    def compliance_context(self) -> ComplianceContext: ...


def context_of(case: ComplianceContext | HasComplianceContext) -> ComplianceContext:
    """The compliance slice of ``case`` (or ``case`` itself when it is one)."""
    return case if isinstance(case, ComplianceContext) else case.compliance_context()


def _outbound_calls(calls: Iterable[CallRecord]) -> list[CallRecord]:
    return [c for c in calls if c.channel == Channel.PHONE and c.direction == Direction.OUTBOUND]


def _hours(ctx: ComplianceContext, rules: ContactRules, at: datetime) -> Blocker | None:
    start, end = parse_hhmm(rules.contact_start), parse_hhmm(rules.contact_end)
    local = at.astimezone(zone(ctx.timezone))
    wall = local.time().replace(tzinfo=None)
    if start <= wall < end:
        return None
    day = local.date() if wall < start else local.date() + timedelta(days=1)
    detail = (
        f"local time {wall.strftime('%H:%M')} outside "
        f"{rules.contact_start}-{rules.contact_end} ({ctx.timezone})"
    )
    return Reason("outside_hours", detail), local_instant(day, start, ctx.timezone)


def _calls_on_days(calls: Iterable[CallRecord], tz: str, first: date, last: date) -> int:
    return sum(1 for c in calls if first <= local_date(c.at, tz) <= last)


def _call_frequency(ctx: ComplianceContext, rules: ContactRules, at: datetime) -> Blocker | None:
    limit, window = rules.max_call_attempts, rules.call_window_days
    if limit is None:
        return None
    calls = _outbound_calls(ctx.recent_calls)
    if len(calls) < limit:  # cannot be reached, whatever the days (the usual case: cheap)
        return None
    today = local_date(at, ctx.timezone)
    span = timedelta(days=window - 1)
    if _calls_on_days(calls, ctx.timezone, today - span, today) < limit:
        return None
    day = today + timedelta(days=1)
    while _calls_on_days(calls, ctx.timezone, day - span, day) >= limit:
        day += timedelta(days=1)
    detail = f"{limit} or more call attempts within {window} consecutive days"
    return Reason("call_frequency", detail), start_of_local_day(day, ctx.timezone)


def _recent_conversation(
    ctx: ComplianceContext, rules: ContactRules, at: datetime
) -> Blocker | None:
    quiet, talked_at = rules.conversation_quiet_days, ctx.last_conversation_at
    if quiet is None or talked_at is None:
        return None
    talked_on, today = local_date(talked_at, ctx.timezone), local_date(at, ctx.timezone)
    resumes_on = talked_on + timedelta(days=quiet)
    if not talked_on <= today < resumes_on:
        return None
    detail = f"phone conversation on {talked_on.isoformat()}; calls resume after {quiet} days"
    return Reason("recent_conversation", detail), start_of_local_day(resumes_on, ctx.timezone)


def _daily_count(calls: list[CallRecord], tz: str, today: date, outcomes: frozenset[Outcome]) -> int:
    return sum(1 for c in calls if c.outcome in outcomes and local_date(c.at, tz) == today)


def _daily_limits(ctx: ComplianceContext, rules: ContactRules, at: datetime) -> list[Blocker]:
    calls = _outbound_calls(ctx.recent_calls)
    if not calls:
        return []
    tz = ctx.timezone
    today = local_date(at, tz)
    found: list[Reason] = []
    limit = rules.max_unanswered_per_day
    if limit is not None and _daily_count(calls, tz, today, UNANSWERED_OUTCOMES) >= limit:
        found.append(Reason("unanswered_attempts", f"{limit} unanswered dial attempts today"))
    limit = rules.max_connected_per_day
    if limit is not None and _daily_count(calls, tz, today, CONNECTED_OUTCOMES) >= limit:
        found.append(Reason("connected_calls", f"{limit} connected calls today"))
    if not found:
        return []
    tomorrow = start_of_local_day(today + timedelta(days=1), tz)
    return [(reason, tomorrow) for reason in found]


def _standing_blocks(ctx: ComplianceContext, channel: Channel, at: datetime,
                     dated: bool) -> list[Blocker]:
    """Blocks that time alone does not lift (except holds with an end); ``dated``: only those
    that had taken effect by ``at`` (``ComplianceContext.since``)."""

    def in_force(block: str) -> bool:
        since = ctx.since.get(block) if dated else None
        return since is None or since <= at

    blockers: list[Blocker] = []
    if ctx.closed:
        blockers.append((Reason("case_closed", "the case is closed"), None))
    if ctx.ceased_all and in_force("cease"):
        blockers.append((Reason("cease", "debtor requested to cease communication"), None))
    elif channel in ctx.ceased_channels and in_force(f"cease:{channel}"):
        blockers.append((Reason("channel_opt_out", f"debtor opted out of {channel}"), None))
    if channel in ctx.opted_out_channels and in_force(f"opted_out:{channel}"):
        blockers.append((Reason("opted_out", f"debtor opted out of {channel} messages"), None))
    if ctx.open_dispute and in_force("dispute"):
        blockers.append((Reason("dispute_open", "a dispute awaits resolution"), None))
    for hold in ctx.holds:
        if hold.active_at(at):
            ends = ceil_minute(hold.until) if hold.until is not None else None
            blockers.append((Reason("hold", f"{hold.kind} hold in force"), ends))
    return blockers


def _blockers(
    ctx: ComplianceContext, channel: Channel, at: datetime, rules: ContactRules,
    dated: bool = False,
) -> list[Blocker]:
    blockers = _standing_blocks(ctx, channel, at, dated)
    if channel in rules.hours_channels and (found := _hours(ctx, rules, at)):
        blockers.append(found)
    if channel == Channel.PHONE:
        for check in (_call_frequency, _recent_conversation):
            if found := check(ctx, rules, at):
                blockers.append(found)
        blockers.extend(_daily_limits(ctx, rules, at))
    return blockers


def permission(
    case_state: ComplianceContext | HasComplianceContext,
    channel: Channel | str,
    at: datetime,
    rules: ContactRules | None = None,
) -> Decision:
    """May an outbound ``channel`` contact happen at ``at``? Cheap: no history replay.

    A question about a contact to make: the case's cease requests, opt-outs and disputes
    block it whatever ``at`` is (``breaches`` judges a contact that happened by those in
    force at its time)."""
    ctx = context_of(case_state)
    rules = rules or rules_for(ctx.jurisdiction)
    channel, at = Channel(channel), aware_utc(at, "at")
    blockers = _blockers(ctx, channel, at, rules)
    if not blockers:
        return Decision(True, [], at)
    reasons = [reason for reason, _ in blockers]
    for _ in range(_MAX_STEPS):
        if any(lifts_at is None for _, lifts_at in blockers):
            return Decision(False, reasons, None)
        at = ceil_minute(max(lifts_at for _, lifts_at in blockers if lifts_at is not None))
        blockers = _blockers(ctx, channel, at, rules)
        if not blockers:
            return Decision(False, reasons, at)
    return Decision(False, reasons, None)


def breaches(
    case_state: ComplianceContext | HasComplianceContext,
    contact: CallRecord,
    rules: ContactRules | None = None,
) -> list[Breach]:
    """Rules an already-made contact broke, judged against the contacts before it.

    Inbound contacts (the debtor reached us) never breach contact rules, but an inbound
    phone conversation still starts the Reg F quiet period for later calls.
    """
    ctx = context_of(case_state)
    rules = rules or rules_for(ctx.jurisdiction)
    if contact.direction == Direction.INBOUND:
        return []
    earlier = tuple(c for c in ctx.recent_calls if c.at < contact.at)
    talked = [
        c.at for c in earlier if c.outcome == Outcome.RIGHT_PARTY and c.channel == Channel.PHONE
    ]
    if ctx.last_conversation_at is not None and ctx.last_conversation_at < contact.at:
        talked.append(ctx.last_conversation_at)
    before = ComplianceContext(
        jurisdiction=ctx.jurisdiction, timezone=ctx.timezone, closed=ctx.closed,
        ceased_all=ctx.ceased_all, ceased_channels=ctx.ceased_channels,
        open_dispute=ctx.open_dispute, holds=ctx.holds, recent_calls=earlier,
        last_conversation_at=max(talked, default=None),
        opted_out_channels=ctx.opted_out_channels, since=ctx.since,
    )
    blockers = _blockers(before, contact.channel, contact.at, rules, dated=True)
    found = [Breach(reason.rule, reason.detail) for reason, _ in blockers]
    if rules.debtor_only and contact.outcome == Outcome.THIRD_PARTY:
        found.append(Breach("third_party", "contact reached a third party"))
    return _only_counted_outcomes(found, contact)


def _only_counted_outcomes(found: list[Breach], contact: CallRecord) -> list[Breach]:
    """A daily limit is broken only by a call of the kind it counts."""
    keep = []
    for breach in found:
        if breach.rule == "unanswered_attempts" and contact.outcome not in UNANSWERED_OUTCOMES:
            continue
        if breach.rule == "connected_calls" and contact.outcome not in CONNECTED_OUTCOMES:
            continue
        keep.append(breach)
    return keep
