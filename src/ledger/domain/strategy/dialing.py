"""When an allowed contact window closes: the dialer list's ``allowed_until``.

Only time can close a window that is open now, and only two things close one by time alone:
the end of the allowed local hours and a hold that starts later (counting rules only lift as
days pass; cease, disputes and closure need a new fact). The hours and channels are read from
the same ``ContactRules`` the permission check uses, not a copy; a unit test checks the answer
against ``permission`` itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

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
        today = local_date(at, ctx.timezone)
        closing = _closing(today, rules.contact_end, ctx.timezone)
        if closing <= at:
            closing = _closing(today + timedelta(days=1), rules.contact_end, ctx.timezone)
        candidates.append(closing)
    return min(candidates, default=None)


@lru_cache(maxsize=4096)
def _closing(day: date, contact_end: str, timezone: str) -> datetime:
    return local_instant(day, parse_hhmm(contact_end), timezone)
