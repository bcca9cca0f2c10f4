"""Constrained scalar types shared by request bodies."""

from __future__ import annotations

import zoneinfo
from datetime import date
from typing import Annotated, Literal

import iso4217
import msgspec

# The strict time type (re-exported): every time a client sends is an ``Instant``.
from ledger.api.schemas.times import Instant as Instant
from ledger.domain.money import NOT_MONEY

MAX_AMOUNT = 10**12

Amount = Annotated[int, msgspec.Meta(gt=0, le=MAX_AMOUNT, description="Minor units (cents), > 0.")]
Component = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Minor units, ≥ 0.")]
Day = Annotated[date, msgspec.Meta(description="Calendar date, YYYY-MM-DD.")]
# The OpenAPI document lists exactly the codes and zones the domain accepts, so a request that
# follows the document is never refused for an "unknown" one (and an unknown one is a 422).
CURRENCY_CODES = tuple(sorted(c.code for c in iso4217.Currency if c.code not in NOT_MONEY))
Currency = Annotated[
    Literal[CURRENCY_CODES],  # type: ignore[valid-type]
    msgspec.Meta(description="ISO 4217 alphabetic code, e.g. USD."),
]
TIME_ZONES = tuple(sorted(zoneinfo.available_timezones()))
TimeZone = Annotated[
    Literal[TIME_ZONES],  # type: ignore[valid-type]
    msgspec.Meta(description="IANA time zone, e.g. America/Chicago."),
]
Ref = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                      description="Printable ASCII identifier without spaces.")
]
# Text the domain requires to be non-blank (``required_text``): the pattern says so too.
# ``\s`` differs between Python and the document's ECMA regexes (Python adds \x1c-\x1f and \x85,
# ECMA adds \ufeff): SPACE names the union, so the code and the document agree.
SPACE = r"\s\x1c-\x1f\x85\ufeff"
NOT_BLANK = rf"^[^\x00]*[^{SPACE}\x00][^\x00]*$"
AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=NOT_BLANK)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=NOT_BLANK)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Request(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of request bodies: unknown fields are refused, and so is NUL in any text.

    PostgreSQL text cannot hold U+0000: a fact carrying one would be stored (events are
    bytes) and then stop every read model that copies the field into a text column.
    """

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            if _has_nul(getattr(self, name)):
                raise ValueError(f"field `{name}` must not contain U+0000 (NUL)")


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, msgspec.Struct):
        return any(_has_nul(getattr(value, f)) for f in value.__struct_fields__)
    return False
