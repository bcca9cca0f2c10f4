"""Tables as CSV (RFC 4180) for spreadsheet users: the metric routes and the dashboard.

Text cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab
or carriage return) are prefixed with ``'``: group names come from API clients, and a CSV
opened in a spreadsheet must not execute what they wrote. Numbers are written as they are;
dates and times in ISO 8601.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request, Response

CSV_MEDIA_TYPE = "text/csv"
"""litestar adds ``; charset=utf-8`` to text types itself (given here too, it was sent twice)."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):  # ISO 8601 as in the JSON, not str()'s space
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def structs_csv(items: Sequence[msgspec.Struct], kind: type[msgspec.Struct]) -> str:
    """One row per Struct, one column per field, in declaration order."""
    fields = kind.__struct_fields__
    return table_csv(fields, ([getattr(item, f) for f in fields] for item in items))


def wants_csv(request: Request) -> bool:
    """True when ``Accept`` prefers CSV to JSON (``*/*`` and no header mean JSON)."""
    accept = request.headers.get("accept")
    if not accept or "csv" not in accept:
        return False
    return request.accept.best_match(["application/json", "text/csv"]) == "text/csv"


def csv_response(text: str, filename: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(text, media_type=CSV_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})})
