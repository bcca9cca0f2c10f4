"""Values out of range reaching the error handler are the request's fault: 422, not 500."""

from __future__ import annotations

import logging

import asyncpg
import msgspec
from litestar.testing import RequestFactory

from ledger.api import problems


def _answer(method: str, error: Exception) -> tuple[int, dict, list[str]]:
    factory = RequestFactory()
    request = factory.post("/v1/x/SECRET-9") if method == "POST" else factory.get("/v1/x/SECRET-9")
    request.scope["path_template"] = "/v1/x/{ref}"  # type: ignore[typeddict-unknown-key]
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("ledger.api")
    logger.addHandler(handler)
    try:
        response = problems.handle_unexpected(request, error)
    finally:
        logger.removeHandler(handler)
    return response.status_code, msgspec.to_builtins(response.content), lines


def test_date_arithmetic_past_the_calendar_is_a_422_on_the_query_or_body():
    status, body, lines = _answer("GET", OverflowError("date value out of range"))
    assert status == 422 and body["errors"][0]["field"] == "query"
    assert _answer("POST", OverflowError("x"))[1]["errors"][0]["field"] == "body"
    assert lines and "SECRET-9" not in lines[0]  # logged by route, never by path


def test_a_value_postgresql_cannot_hold_is_a_422_that_does_not_quote_it():
    status, body, lines = _answer("GET", asyncpg.DataError("timestamp out of range: \"SECRET\""))
    assert status == 422 and body["code"] == "invalid_request"
    assert "SECRET" not in str(body) and not any("SECRET" in line for line in lines)
