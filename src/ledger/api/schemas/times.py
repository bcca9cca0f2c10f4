"""The one strict time type of the API: ``Instant``, an RFC 3339 time **with an offset**.

Use it for every time a client sends — request Struct fields and query parameters alike::

    from ledger.api.schemas.times import Instant     # also re-exported by schemas.common

    class RecordThing(Request):
        happened_at: Instant                # required
        until: Instant | None = None        # optional

    async def handler(..., at: Annotated[Instant | None, Parameter(description=...)] = None)

A number (``1733097600``, ``0.5``), a numeric string, a date alone or a time without an offset
is ``422 invalid_request`` naming the field. Handlers receive a plain, timezone-aware
``datetime`` (not an ``Instant``), so nothing downstream — domain, event codec, asyncpg — sees
a special type. ``tests/api/test_strict_times.py`` fails for any request field or query
parameter annotated with a bare ``datetime``: litestar decodes those leniently (non-strict
msgspec), and a bare ``datetime`` turns ``"received_at": 1733097600`` into 2024-12-02.

The app wires the decoder (``TYPE_DECODERS``) and the OpenAPI schema (``InstantSchemaPlugin``:
``type: string, format: date-time``). Code that decodes a request Struct itself (the NDJSON
import) passes ``dec_hook`` to its msgspec decoder.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin

EXAMPLE = "2026-10-01T15:35:00Z"
DESCRIPTION = f"RFC 3339 date-time with an offset (`Z` or `±HH:MM`), e.g. `{EXAMPLE}`."
MESSAGE = f"must be an RFC 3339 time with an offset, e.g. {EXAMPLE}"

# RFC 3339 section 5.6 ``date-time``: full date, "T" (or a space, its note allows it), full time,
# then a mandatory offset. Checked before parsing because msgspec's own parser is lenient
# about what it accepts beyond this.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
_AWARE = Annotated[datetime, msgspec.Meta(tz=True)]
# A year of headroom at both ends of Python's datetime: handlers add days and move times to
# the debtor's zone, which past the years 1–9999 raises instead of answering.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
RANGE_MESSAGE = "must lie between the years 2 and 9998 (UTC)"


class _AcceptsAwareDatetimes(type):
    """msgspec keeps a decoder's result only if ``isinstance(result, Instant)``: let plain aware
    datetimes pass, so handlers and the event codec never see a ``datetime`` subclass (msgspec
    cannot encode one)."""

    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, datetime) and value.utcoffset() is not None


class Instant(datetime, metaclass=_AcceptsAwareDatetimes):
    """An RFC 3339 time with an offset, decoded strictly (see the module docstring)."""

    __slots__ = ()


def parse_instant(value: Any) -> datetime:
    """``value`` as an aware ``datetime``; ``ValueError`` (naming the rule) for anything else."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(MESSAGE)
    try:
        parsed = msgspec.convert(value.replace(" ", "T", 1), _AWARE)
    except msgspec.ValidationError:
        raise ValueError(MESSAGE) from None
    # Comparing aware datetimes works on their offsets, so it cannot overflow itself.
    if not EARLIEST <= parsed < LATEST:
        raise ValueError(RANGE_MESSAGE)
    return parsed


def dec_hook(target: type, value: Any) -> Any:
    """For a plain msgspec decoder of a request Struct: ``msgspec.json.Decoder(T, dec_hook=dec_hook)``."""
    if target is Instant:
        return parse_instant(value)
    raise NotImplementedError(f"no decoder for {target!r}")


def _decode(_: type, value: Any) -> datetime:
    return parse_instant(value)


def _is_instant(target: Any) -> bool:
    return target is Instant


TYPE_DECODERS = [(_is_instant, _decode)]
"""Give to ``Litestar(type_decoders=...)``: how request bodies and parameters decode ``Instant``."""


class InstantSchemaPlugin(OpenAPISchemaPlugin):
    """Documents ``Instant`` as ``string`` / ``date-time`` (litestar does not know the type)."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Instant

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME,
                      description=DESCRIPTION, examples=[EXAMPLE])
