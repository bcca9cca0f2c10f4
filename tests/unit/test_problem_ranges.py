"""Values out of range reaching the error handler are the request's fault: 422, not 500."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import RequestFactory

from ledger.api import problems


class _Lines:
    """Stands in for the module's logger: keeps each formatted line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any, **_: Any) -> None:
        self.lines.append(message % args)

    error = warning


def _answer(method: str, error: Exception, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict, list[str]]:
    log = _Lines()
    monkeypatch.setattr(problems, "log", log)
    factory = RequestFactory()
    request = factory.post("/v1/x/SECRET-9") if method == "POST" else factory.get("/v1/x/SECRET-9")
    request.scope["path_template"] = "/v1/x/{ref}"  # type: ignore[typeddict-unknown-key]
    response = problems.handle_unexpected(request, error)
    return response.status_code, msgspec.to_builtins(response.content), log.lines


def test_date_arithmetic_past_the_calendar_is_a_422_on_the_query_or_body(monkeypatch):
    status, body, lines = _answer("GET", OverflowError("date value out of range"), monkeypatch)
    assert status == 422 and body["errors"][0]["field"] == "query"
    assert _answer("POST", OverflowError("x"), monkeypatch)[1]["errors"][0]["field"] == "body"
    assert lines == ["date arithmetic out of range on GET /v1/x/{ref}"]  # route, never path


def test_a_value_postgresql_cannot_hold_is_a_422_that_does_not_quote_it(monkeypatch):
    error = asyncpg.DataError("timestamp out of range: \"SECRET\"")
    status, body, lines = _answer("GET", error, monkeypatch)
    assert status == 422 and body["code"] == "invalid_request"
    assert "SECRET" not in str(body) and lines and not any("SECRET" in line for line in lines)
