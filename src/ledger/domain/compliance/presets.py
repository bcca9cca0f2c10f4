"""One preset of :class:`ContactRules` per jurisdiction, and tenant overrides.

A jurisdiction string is ``COUNTRY`` or ``COUNTRY-SUBDIVISION`` (ISO 3166-2: ``US-TX``,
``GB-ENG``, ``CN-31``); its country picks the preset. A country we have no preset for gets
:data:`DEFAULT`, the strictest combination of every preset (narrowest hours, all counting
rules, debtor-only contact, charges frozen in breathing space): it can refuse contact a
local law would allow, but never allows contact one of our known laws forbids.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import msgspec

from ledger.domain.compliance.rules import ContactRules
from ledger.domain.errors import InvalidRequest
from ledger.domain.timeutil import parse_hhmm
from ledger.domain.values import HoldKind

US = ContactRules(
    preset="US",  # Regulation F (12 CFR 1006.6(b)(1)(i), 1006.14(b))
    contact_start="08:00",
    contact_end="21:00",
    max_call_attempts=7,
    call_window_days=7,
    conversation_quiet_days=7,
)

CN = ContactRules(
    preset="CN",  # banking-association collection guideline (2026)
    contact_start="08:00",
    contact_end="22:00",
    max_unanswered_per_day=6,
    max_connected_per_day=3,
    debtor_only=True,
)

GB = ContactRules(
    preset="GB",  # FCA CONC 7 and the Debt Respite (breathing space) regulations
    contact_start="08:00",
    contact_end="21:00",
    charge_freezing_holds=(HoldKind.BREATHING_SPACE,),
)

DEFAULT = ContactRules(
    preset="DEFAULT",
    contact_start="08:00",
    contact_end="21:00",
    max_call_attempts=7,
    call_window_days=7,
    conversation_quiet_days=7,
    max_unanswered_per_day=6,
    max_connected_per_day=3,
    debtor_only=True,
    charge_freezing_holds=(HoldKind.BREATHING_SPACE,),
)

PRESETS: dict[str, ContactRules] = {"US": US, "CN": CN, "GB": GB}


def country_of(jurisdiction: str) -> str:
    """``"US-TX"`` → ``"US"``; also accepts ``"UK"`` as ``"GB"``."""
    country = jurisdiction.strip().upper().split("-", 1)[0]
    return "GB" if country == "UK" else country


@lru_cache(maxsize=1024)  # asked on every case read; the presets are frozen constants
def preset_for(jurisdiction: str) -> ContactRules:
    return PRESETS.get(country_of(jurisdiction), DEFAULT)


def rules_for(
    jurisdiction: str, overrides: Mapping[str, Any] | None = None
) -> ContactRules:
    """The jurisdiction's preset with a tenant's overrides applied (validated)."""
    rules = preset_for(jurisdiction)
    if not overrides:
        return rules
    unknown = set(overrides) - set(ContactRules.__struct_fields__) - {"preset"}
    if unknown:
        raise InvalidRequest(sorted(unknown)[0], "unknown compliance rule parameter")
    merged = msgspec.to_builtins(rules) | dict(overrides)
    try:
        rules = msgspec.convert(merged, ContactRules)
        start, end = parse_hhmm(rules.contact_start), parse_hhmm(rules.contact_end)
    except (msgspec.ValidationError, ValueError) as error:
        raise InvalidRequest("rules", str(error)) from None
    if not start < end:
        raise InvalidRequest("contact_end", "must be later than contact_start")
    return rules
