"""How long an answer of ``permission`` stands, with the same facts (pure, property-tested).

A reader that asks the same case again and again (the case view's next allowed call) may keep
an answer for as long as it stands instead of asking again. Every rule reads the time in one of
three ways: the debtor's local *date* (daily limits, call frequency, the quiet days after a
conversation), the local *wall-clock time* against the contact hours, and the *instant* against
a hold's start and end (closure, cease, disputes and opt-outs are facts: a new version). So an
allowed contact stays allowed until the next local midnight, start or end of the contact hours,
or hold start or end, whichever comes first; and a refusal's ``next_allowed_at`` is the answer
at every moment before it, because blocked periods are contiguous and rules lift on whole
minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.domain.compliance.checks import HasComplianceContext, context_of
from ledger.domain.compliance.presets import rules_for
from ledger.domain.compliance.rules import ComplianceContext, ContactRules
from ledger.domain.timeutil import ceil_minute, local_instant, parse_hhmm, start_of_local_day, zone
from ledger.domain.values import Channel

_JUST_BEFORE = timedelta(microseconds=1)


def allowed_stands_until(
    case_state: ComplianceContext | HasComplianceContext,
    channel: Channel,
    at: datetime,
    rules: ContactRules | None = None,
) -> datetime:
    """An instant after ``at`` before which a ``channel`` contact allowed at ``at`` stays
    allowed: the next local midnight, start or end of the contact hours, or hold start or end.
    ``at`` itself (nothing to keep) when the debtor's UTC offset changes before then: across a
    DST change the wall clock jumps, so the hours may be crossed twice or not at all."""
    ctx = context_of(case_state)
    rules = rules or rules_for(ctx.jurisdiction)
    tz = ctx.timezone
    local = at.astimezone(zone(tz))
    today = local.date()
    edges = [start_of_local_day(today + timedelta(days=1), tz)]
    if channel in rules.hours_channels:
        edges += [local_instant(today, parse_hhmm(rules.contact_start), tz),
                  local_instant(today, parse_hhmm(rules.contact_end), tz)]
    for hold in ctx.holds:
        edges += [hold.starts_at, *(() if hold.until is None else (hold.until,))]
    until = min((edge for edge in edges if edge > at), default=at)
    if (until - _JUST_BEFORE).astimezone(zone(tz)).utcoffset() != local.utcoffset():
        return at
    return until


def refusal_stands_until_next_allowed(
    case_state: ComplianceContext | HasComplianceContext,
) -> bool:
    """Whether a refusal's ``next_allowed_at`` is also the answer to ``permission`` asked at
    any later moment before it, with the same facts (so a reader may keep it until then).

    True unless a hold ends within a minute: its end is rounded up to the next minute, and
    the contact is allowed in the seconds between (property-tested both ways)."""
    ctx = context_of(case_state)
    return all(h.until is None or ceil_minute(h.until) == h.until for h in ctx.holds)
