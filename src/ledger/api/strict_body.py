"""JSON request bodies decoded strictly into their Struct: no type coercion.

litestar converts a body with msgspec's lax mode, which turns ``"amount": "100"`` into 100,
``"waive_interest": 1`` into ``true`` and a number into a time. The OpenAPI document says
integer, boolean, date-time: a body that breaks it must be a ``422`` naming the field, not a
stored fact. This request class decodes the body straight into the route's Struct with
msgspec's strict mode; litestar then receives the finished Struct and passes it through.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.utils.empty import value_or_default

from ledger.api.schemas import times

_TARGETS: dict[int, Any] = {}


def _is_struct(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, msgspec.Struct)


def _body_struct(handler: Any) -> Any:
    """The Struct (or ``Struct | None``, an optional body) the route takes as its JSON body
    (None: not a Struct body)."""
    key = id(handler)
    if key not in _TARGETS:
        field = getattr(handler, "parsed_data_field", None)
        target = getattr(field, "annotation", None)
        options = typing.get_args(target) if typing.get_origin(target) in (
            typing.Union, types.UnionType) else ()
        optional = (len(options) == 2 and type(None) in options
                    and any(_is_struct(o) for o in options))
        _TARGETS[key] = target if _is_struct(target) or optional else None
    return _TARGETS[key]


def _integral_floats_as_ints(value: Any) -> Any:
    """``100.0`` is an integer to JSON Schema (and so to clients); to strict msgspec it is not."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


class StrictBodyRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        target = _body_struct(self.route_handler)
        if target is None or value_or_default(self._connection_state.json, None) is not None:
            return await super().json()
        body = await self.body()
        try:
            raw = msgspec.json.decode(body or b"null")
        except msgspec.DecodeError:
            return await super().json()  # not JSON at all: litestar's own answer (a 422 here)
        try:
            value = msgspec.convert(_integral_floats_as_ints(raw), target, strict=True,
                                    dec_hook=times.dec_hook)
        except msgspec.ValidationError as error:
            raise ValidationException(
                detail="invalid request body",
                extra=[{"message": str(error), "key": "data", "source": "body"}],
            ) from None
        self._connection_state.json = value
        return value
