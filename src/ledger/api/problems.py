"""RFC 9457 problem documents: the one shape of every failed response.

Handlers raise :class:`ProblemError` (or a domain/store error, mapped here); litestar's own
failures (validation, unknown route, wrong method, oversized or non-JSON body) are rewritten
into the same shape. Details never contain stack traces or request values, which may be
debtor data: only field names and fixed messages.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from ledger.domain.errors import DomainError, InvalidRequest

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://ledger.dev/problems/"

log = logging.getLogger("ledger.api")


class FieldError(msgspec.Struct, frozen=True):
    """One invalid field of a request."""

    field: str
    """Path of the field, objects dotted and list items in brackets (``debtor.timezone``,
    ``segments[1].steps[0].action``) whether the schema or a rule found it; ``body`` for the
    whole body."""
    message: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """An error response (``application/problem+json``, RFC 9457) with a stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    """Machine-readable reason, e.g. ``case_closed``, ``invalid_request``, ``not_found``."""
    errors: list[FieldError] | None = None
    """Every invalid field, for ``invalid_request``."""


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail or code.replace("_", " ")
        self.errors = errors
        self.headers = headers or {}


def invalid(field: str, message: str, code: str = "invalid_request") -> ProblemError:
    """A 422 naming one field."""
    return ProblemError(422, code, f"{field}: {message}", errors=[FieldError(field, message)])


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = Problem(TYPE_BASE + code, title, status, detail, code, errors)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def route_of(request: Request) -> str:
    """The route template (``/v1/cases/by-ref/{external_ref}``), never the raw path: paths carry
    external references and other identifiers that must stay out of logs."""
    return str(request.scope.get("path_template") or "unmatched")


def handle_problem(_: Request, exc: ProblemError) -> Response[Problem]:
    return problem_response(exc.status, exc.code, exc.detail, exc.errors, exc.headers)


# msgspec names the culprit inside its message; litestar only knows the parameter name.
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")
_PATH_IN_MESSAGE = re.compile(r" - at `\$\.?([^`]*)`")
_STATUS_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    401: "unauthorized",
    403: "forbidden",
}


def _field_errors(exc: ValidationException) -> list[FieldError]:
    found: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key") or "body")
        path = _PATH_IN_MESSAGE.search(message)
        named = _FIELD_IN_MESSAGE.search(message)
        if path:  # inside a nested object: its path, and the field msgspec names in it
            key, message = path[1] or "body", message[: path.start()]
            if named:
                key = f"{path[1]}.{named[1]}" if path[1] else named[1]
        elif named:
            key = named[1]
        elif key == "data":
            key = "body"
        if _BARE_NAME.fullmatch(message):  # litestar's KeyError text (a multipart body, say)
            message = "not a JSON body this route accepts"
        message = _LONG_PATTERN.sub("the pattern of this field in /schema/openapi.json", message)
        found.append(FieldError(key, message))  # msgspec's own notation, as the rules use
    return found or [FieldError("body", "invalid request")]


_BARE_NAME = re.compile(r"'[^']{0,100}'")
"""A message that is only a quoted name: the text of a ``KeyError``, not something to show."""
_LONG_PATTERN = re.compile(r"regex '.{120,}'", re.DOTALL)
"""A pattern too long to be read in an error (the feed's ``types``: every event name)."""


_MISSING = re.compile(r"Missing required (query|header|cookie|path) parameter '([^']{1,100})'")
"""litestar's message for a required parameter the request left out."""


def handle_http_exception(request: Request, exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, ValidationException) or status == 400:
        if isinstance(exc, ValidationException) and exc.extra:
            errors = [FieldError(_public_name(request, e.field), e.message)
                      for e in _field_errors(exc)]
            where = "query or path parameters" if _from_parameters(exc) else "request body"
            return problem_response(422, "invalid_request", f"invalid {where}", errors, headers)
        missing = _MISSING.match(str(exc.detail)) if isinstance(exc, ValidationException) else None
        if missing:  # only the name: litestar's message quotes the whole URL, query included
            return problem_response(
                422, "invalid_request", f"the {missing[1]} parameter {missing[2]} is required",
                [FieldError(missing[2], "required")], headers,
            )
        # litestar's "JSON is malformed" and friends: the body is not what the route takes.
        return problem_response(
            422, "invalid_request", "the request body is not valid JSON for this route",
            [FieldError("body", "not valid JSON")], headers,
        )
    code = _STATUS_CODES.get(status, "http_error")
    detail = {
        404: "no such resource",
        405: f"{request.method} is not allowed on this path",
        413: "the request body is larger than this route accepts",
    }.get(status, str(exc.detail) if status < 500 else "internal error")
    return problem_response(status, code, detail, None, headers)


def _public_name(request: Request, field: str) -> str:
    """The name the client used: a query parameter's alias (``from``), not the Python one."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(field)
    kwarg = getattr(parameter, "kwarg_definition", None)
    for alias in ("query", "name", "header"):
        if isinstance(getattr(kwarg, alias, None), str):
            return str(getattr(kwarg, alias))
    return field


def _from_parameters(exc: ValidationException) -> bool:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return any(isinstance(i, dict) and i.get("source") in ("query", "path", "header") for i in extra)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _out_of_range(request: Request, what: str, detail: str) -> Response[Problem]:
    """A ``422`` for a value out of range; logged by route (in case one ever comes from
    somewhere else than the request), never with the message, which can quote the value."""
    log.warning("%s out of range on %s %s", what, request.method, route_of(request))
    field = "body" if request.method in _BODY_METHODS else "query"
    return problem_response(422, "invalid_request", detail, [FieldError(field, "out of range")])


def handle_unexpected(request: Request, exc: Exception) -> Response[Problem]:
    if isinstance(exc, RecursionError):
        # The JSON decoder's answer to absurdly deep nesting (``[[[[…``): a bad body, not a bug.
        return problem_response(
            422, "invalid_request", "the request body is nested too deeply",
            [FieldError("body", "nested too deeply")],
        )
    if isinstance(exc, UnicodeDecodeError):
        # litestar hands the raw body to msgspec, which refuses bytes that are not UTF-8.
        return problem_response(
            422, "invalid_request", "the request body is not valid UTF-8",
            [FieldError("body", "not valid UTF-8")],
        )
    if isinstance(exc, OverflowError):
        # Date arithmetic past the years 1–9999 on a time the client sent (an ``as_of`` of
        # 9999-12-31T23:00:00Z plus a day, a local date in the year 0): nothing is written
        # before times are worked out, so this is the request's fault.
        return _out_of_range(request, "date arithmetic", "a date or time is outside the years "
                             "1 to 9999")
    if isinstance(exc, asyncpg.DataError):
        # A value PostgreSQL cannot hold (a timestamp beyond its range): the statement failed
        # and its transaction with it.
        return _out_of_range(request, "a value for the database",
                             "a value is outside the range the database stores")
    if isinstance(exc, asyncpg.InternalClientError):
        # asyncpg's protocol state on a connection the server has just shut down (``pg_ctl
        # stop -m fast`` mid-request): the database went away, the request may be retried.
        return handle_database_down(request, exc)
    # Log the type and where, not the message: messages of library errors can quote data.
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, route_of(request),
        exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
    )
    return problem_response(500, "internal_error", "internal error; the request id identifies it")


def unavailable(retry_after: int = 2) -> Response[Problem]:
    return problem_response(
        503, "unavailable", "the database is unreachable; retry later",
        headers={"Retry-After": str(retry_after)},
    )


def encode_problem(status: int, code: str, detail: str) -> bytes:
    """A problem document as bytes, for ASGI-level middleware that cannot raise."""
    title = HTTPStatus(status).phrase
    return msgspec.json.encode(Problem(TYPE_BASE + code, title, status, detail, code))


def handle_domain_error(_: Request, exc: DomainError) -> Response[Problem]:
    """A refused command: 409 with the rule's code; field validation: 422."""
    if isinstance(exc, InvalidRequest):
        return problem_response(
            exc.http_status, exc.code, exc.detail, [FieldError(exc.field, exc.message)]
        )
    return problem_response(exc.http_status, exc.code, exc.detail)


def handle_database_down(request: Request, exc: Exception) -> Response[Problem]:
    log.warning("database unavailable on %s %s: %s", request.method, route_of(request),
                type(exc).__name__)
    return unavailable()
