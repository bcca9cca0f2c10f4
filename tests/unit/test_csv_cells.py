"""CSV cells (``ledger.api.csv_export``): what a spreadsheet user and a script both read right."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone

from ledger.api.csv_export import table_csv


def test_times_and_dates_are_written_in_iso_8601_as_the_json_and_the_pages_show_them() -> None:
    moment = datetime(2026, 12, 6, 3, 10, 38, 618355, tzinfo=UTC)
    local = datetime(2026, 12, 5, 21, 10, tzinfo=timezone(timedelta(hours=-6)))
    text = table_csv(["at", "local", "day"], [[moment, local, date(2026, 1, 2)]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["2026-12-06T03:10:38.618355+00:00", "2026-12-05T21:10:00-06:00",
                       "2026-01-02"]
    assert datetime.fromisoformat(rows[1][0]) == moment


def test_formulas_are_defused_and_missing_values_are_empty() -> None:
    text = table_csv(["group", "n", "flag"], [["=HYPERLINK(\"x\")", None, True]])
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=HYPERLINK(\"x\")", "", "true"]
