"""Inbound opt-out: which texts mean "stop", and phone numbers compared in E.164."""

from __future__ import annotations

import phonenumbers

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke",
                           "opt out"})
DEFAULT_REGION = "US"
"""Region assumed for a number written without its country code."""


def is_opt_out(text: str) -> bool:
    """``" STOP "`` and ``"Opt Out"`` opt out; ``"stop calling me at work"`` does not."""
    return isinstance(text, str) and " ".join(text.split()).casefold() in OPT_OUT_WORDS


def e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 (``+15551234567``), or None when it is not a possible number."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    """Emails compared case-insensitively, surrounding space ignored; None if not an address."""
    if not isinstance(raw, str):
        return None
    stripped = raw.strip()
    value = stripped.casefold()  # may lengthen (ß → ss): the limit is on what was written
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(stripped) > 320 or " " in value:
        return None
    return value
