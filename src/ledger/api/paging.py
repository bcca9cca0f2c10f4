"""Lists the API holds in memory, paged like every other list.

A case's messages, a tenant's strategies and its webhook endpoints are small, so they are
read whole and cut here: ``?limit=`` (1–500, default 50) and ``?cursor=`` (the
``next_cursor`` of the previous page, which names the last item's sort key), answering
``{items, next_cursor}`` as the conventions of API.md say every list does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from litestar.params import Parameter

from ledger.api.problems import invalid
from ledger.projections.queries import BadCursor, decode_cursor, encode_cursor

T = TypeVar("T")
Limit = Annotated[int, Parameter(ge=1, le=500, description="Items per page (1–500)")]
Cursor = Annotated[str | None, Parameter(description="`next_cursor` of a previous page")]


def page(kind: str, items: Sequence[T], key: Callable[[T], tuple[Any, ...]],
         types: tuple[type, ...], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """The page of ``items`` after ``cursor`` in ``key`` order (a unique key: the sort key
    and a tie-breaker), and the cursor of the next page (None on the last)."""
    ordered = sorted(items, key=key)
    if cursor is not None:
        try:
            after = tuple(decode_cursor(kind, cursor, types))
        except BadCursor:
            raise invalid("cursor", "not a cursor of this list") from None
        ordered = [item for item in ordered if key(item) > after]
    chunk = ordered[:limit]
    more = len(ordered) > limit
    return chunk, encode_cursor(kind, list(key(chunk[-1]))) if more else None
