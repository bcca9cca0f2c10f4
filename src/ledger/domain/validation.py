"""Small validators for free-text fields; refusals name the field."""

from __future__ import annotations

from ledger.domain.errors import InvalidRequest

MAX_NOTE_LENGTH = 4000


def required_text(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(field, "must be a non-empty string")
    if len(value) > max_length:
        raise InvalidRequest(field, f"must be at most {max_length} characters")
    return value


def path_segment_text(value: object, field: str, max_length: int) -> str:
    """Text that later names a resource in a URL path (a payment's ``external_id`` in
    ``…/payments/{external_id}/reversal``): a ``/`` would split the segment and ``.`` or ``..``
    would be resolved away by clients, so the fact could never be addressed."""
    text = required_text(value, field, max_length)
    if "/" in text or text in (".", ".."):
        raise InvalidRequest(field, "must not contain '/' nor be '.' or '..' (it is used in a "
                                    "URL path)")
    return text


def optional_text(value: object, field: str, max_length: int) -> str | None:
    return None if value is None else required_text(value, field, max_length)
