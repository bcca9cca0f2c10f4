"""What a dashboard page shows: sections of a chart and tables, each table also as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.api.csv_export import table_csv


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "int"
    """``text``, ``int``, ``amount`` (minor units), ``rate`` (0..1) or ``time``."""


@dataclass
class Table:
    name: str
    """Unique on its page: the ``csv`` parameter that downloads it, and ``data-table``."""
    caption: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]]

    def csv(self) -> str:
        return table_csv([c.key for c in self.columns],
                         ([row.get(c.key) for c in self.columns] for row in self.rows))


@dataclass
class Section:
    heading: str
    tables: list[Table]
    chart: str | None = None
    """An SVG document (already escaped by ``svg``), inlined into the page."""
    note: str | None = None


@dataclass
class Page:
    slug: str
    title: str
    sections: list[Section]
    filters: str = "period"
    """``period`` (from/to), ``month`` or ``none``."""
    as_of_position: int | None = None
    summary: str = ""
    values: dict[str, str] = field(default_factory=dict)
    """The filter values to show in the form."""

    def table(self, name: str) -> Table | None:
        return next((t for s in self.sections for t in s.tables if t.name == name), None)


def display(value: Any, kind: str) -> str:
    """How a cell reads on the page (the CSV and ``data-value`` keep the raw value)."""
    if value is None:
        return "n/a" if kind == "rate" else ""
    if kind == "rate":
        return f"{float(value) * 100:.1f}%"
    if kind in ("int", "amount") and isinstance(value, int):
        return f"{value:,}"
    if kind == "time" and hasattr(value, "isoformat"):
        return value.isoformat(timespec="minutes")
    return str(value)


def raw(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
