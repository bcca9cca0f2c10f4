"""When an allowed contact window closes: the dialer list's ``allowed_until``.

Only time can close a window that is open now, and only two things close one by time alone:
the end of the allowed local hours and a hold that starts later. The hours and channels are
read from the same ``ContactRules`` the permission check uses (not a copy), and each
candidate is confirmed with ``permission`` itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.domain.compliance import permission
from ledger.domain.compliance.checks import HasComplianceContext
from ledger.domain.compliance.presets import rules_for
from ledger.domain.compliance.rules import ComplianceContext, ContactRules
from ledger.domain.timeutil import local_date, local_instant, parse_hhmm
from ledger.domain.values import Channel


def allowed_until(case_state: ComplianceContext | HasComplianceContext, channel: Channel,
                  at: datetime, rules: ContactRules | None = None) -> datetime | None:
    """The first instant after ``at`` at which contact on ``channel`` stops being allowed.

    None when nothing but a person's act can end it (no hours on this channel, no hold ahead).
    ``at`` is assumed allowed (ask ``permission`` first).
    """
    ctx = case_state if isinstance(case_state, ComplianceContext) else case_state.compliance_context()
    rules = rules or rules_for(ctx.jurisdiction)
    candidates = [h.starts_at for h in ctx.holds if h.starts_at > at]
    if channel in rules.hours_channels:
        end = parse_hhmm(rules.contact_end)
        today = local_date(at, ctx.timezone)
        closing = local_instant(today, end, ctx.timezone)
        if closing <= at:
            closing = local_instant(today + timedelta(days=1), end, ctx.timezone)
        candidates.append(closing)
    for moment in sorted(candidates):
        if not permission(ctx, channel, moment, rules).allowed:
            return moment
    return None
