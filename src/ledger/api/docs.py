"""OpenAPI declarations shared by the routes: the documented problem responses."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec

from ledger.api.problems import PROBLEM_MEDIA_TYPE, Problem

PROBLEMS = {
    401: "No API key, or an unknown or revoked one (`unauthorized`).",
    403: "The key's role may not use this route (`forbidden`), or a key bound to an agent "
         "named another agent (`agent_mismatch`).",
    404: "No such case in this tenant (`not_found`); other tenants' cases are never visible.",
    409: "A business rule refused the command; `code` names the rule.",
    412: "`If-Match` names a version other than the case's current one (`version_mismatch`).",
    413: "The body is larger than this route accepts (`payload_too_large`).",
    422: "Invalid request (`invalid_request`, with `errors`), `time_in_future`, or "
         "`idempotency_key_reused`.",
    429: "This key exceeded its request rate, or this client too many failed "
         "authentications (`rate_limited`); see `Retry-After`.",
    503: "The database is unreachable (`unavailable`); see `Retry-After`.",
}
ALWAYS = (401, 403, 422, 429, 503)


def responses(
    *codes: int, ok: Any = None, ok_description: str = "Success"
) -> dict[int, ResponseSpec]:
    """Problem responses for ``codes`` plus those every authenticated route can give."""
    documented: dict[int, ResponseSpec] = {
        code: ResponseSpec(
            data_container=Problem, media_type=PROBLEM_MEDIA_TYPE, description=PROBLEMS[code],
            generate_examples=False,
        )
        for code in sorted({*codes, *ALWAYS} - {200, 201})
    }
    if ok is not None:
        documented[200] = ResponseSpec(data_container=ok, description=ok_description,
                                       generate_examples=False)
    return documented
