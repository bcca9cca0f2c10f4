"""Constrained scalar types shared by request bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

MAX_AMOUNT = 10**12

Amount = Annotated[int, msgspec.Meta(gt=0, le=MAX_AMOUNT, description="Minor units (cents), > 0.")]
Component = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="Minor units, ≥ 0.")]
Instant = Annotated[
    datetime, msgspec.Meta(tz=True, description="RFC 3339 date-time with offset.")
]
Day = Annotated[date, msgspec.Meta(description="Calendar date, YYYY-MM-DD.")]
Currency = Annotated[
    str, msgspec.Meta(pattern="^[A-Z]{3}$", description="ISO 4217 alphabetic code.")
]
Ref = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                      description="Printable ASCII identifier without spaces.")
]
AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Request(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of request bodies: unknown fields are refused."""
