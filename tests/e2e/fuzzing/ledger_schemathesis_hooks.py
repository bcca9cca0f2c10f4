"""schemathesis hooks for ``test_outside_fuzzer.py`` (loaded with ``SCHEMATHESIS_HOOKS``).

One check replaces ``positive_data_acceptance``: the same check, except that a ``422`` for a rule
no JSON Schema can state is not a failure. Each such rule is listed below with why the
document cannot say it; anything else a document-following request is refused for fails.
``negative_data_rejection`` is replaced the same way, for one case: a non-string body generated
for an operation whose body is text (the import), which goes out as ordinary NDJSON text.
``ensure_resource_availability`` is replaced for one documented 404: a case's ``/plan``
(``no_strategy``) right after the case was placed. Every other check of ``--checks all`` runs
unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    EnsureResourceAvailability,
    ensure_resource_availability,
    negative_data_rejection,
    positive_data_acceptance,
)

# (problem code, text in the field's message) → why the OpenAPI document cannot state it.
RULES_BEYOND_THE_SCHEMA: dict[tuple[str, str], str] = {
    ("time_in_future", ""): "a fact's time may not be after now (+5 min): JSON Schema has no 'now'",
    ("invalid_request", "cursor"): "cursors are opaque: only the server's own next_cursor is valid",
    ("invalid_request", "must be after"): "order between two fields (hold until > starts_at)",
    ("invalid_request", "must not be after"): "order between two fields (itemization ≤ sent)",
    ("invalid_request", "must not go back"): "instalment due dates in order along an array",
    ("invalid_request", "has no version"): "the version must exist (stored data)",
    ("invalid_request", "unknown template"): "the template must exist (stored data)",
    ("invalid_request", "template; a"): "a step's template must be of its channel (stored data)",
    ("invalid_request", "steps must be in day order"): "steps in day order along an array",
    ("invalid_request", "is greater than"): "a minimum not above its maximum (two fields)",
    ("invalid_request", "exceeds the placed balance"): "past due ≤ principal + interest + fees",
    ("invalid_request", "cannot be set"): "Ledger's own score model is reserved",
    ("invalid_request", "segment names must be unique"): "unique by one property of array items",
    ("invalid_request", "no template of that name"): "the template must exist (stored data)",
    ("invalid_request", "not one of the debtor's"): "a message's `to` is one of the debtor's "
                                                    "addresses (stored data)",
    ("invalid_request", "does not resolve"): "a webhook host must resolve in DNS (outside data)",
    ("invalid_request", "has no address"): "a webhook host must resolve in DNS (outside data)",
    ("invalid_request", "resolves to an address"): "a webhook host's DNS addresses must be "
                                                   "public (outside data)",
    ("invalid_request", "not a valid template"): "a template body is Jinja: nested blocks are "
                                                 "a grammar no regular pattern states",
    ("invalid_request", "the template"): "a template renders in the sandbox (Jinja semantics)",
    ("invalid_request", "templates may not use"): "a template body uses only text, fields, if "
                                                  "and some filters (Jinja's grammar)",
    ("invalid_request", "unknown filter"): "a template body uses only some Jinja filters",
    ("invalid_request", "unknown test"): "a template body uses only some Jinja tests",
    ("unknown_field", ""): "a template names only known fields, in any Jinja expression",
    ("message_too_long", ""): "an sms is at most N segments once rendered: GSM-7 or UCS-2 "
                              "by its characters and the values filled in",
    ("invalid_request", "lies before the"):
        "a fact about an earlier fact not before it (a reversal and its payment, a resolution "
        "and its dispute, a delivery report and its message: times stored by earlier requests)",
    ("invalid_request", "is before the complaint was received"):
        "a resolution not before the complaint's receipt, a time stored by an earlier request",
    ("invalid_request", "each dpd_min may appear once"):
        "tiers unique by one field (uniqueItems compares whole items only)",
    ("invalid_request", "must lie between the years 2 and 9998"):
        "a time's UTC instant within the years 2-9998 (the date-time format has no range)",
    ("invalid_request", "out of range"):
        "dates worked out from a time stay within the calendar (the format has no range)",
    ("opt_out_missing", ""): "{{ opt_out }} outside every Jinja block: nested blocks are a "
                             "grammar no regular pattern states",
}


def tolerated_rule(response: Any) -> str | None:
    """Why this 422 is a rule beyond the schema, or None (then it is a real finding)."""
    if response.status_code != 422:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError:
        return None
    messages = [error.get("message", "") for error in problem.get("errors") or []]
    for (code, text), why in RULES_BEYOND_THE_SCHEMA.items():
        if problem.get("code") == code and all(text in message for message in messages or [""]):
            return why
    return None


@schemathesis.check
def positive_data_acceptance_beyond_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if tolerated_rule(response) is not None:
            return None
        raise


RESOURCES_THAT_MAY_NOT_EXIST = {"no_strategy"}
"""404 codes of a sub-resource that exists only by other data: a case's ``/plan`` exists
while an active strategy holds the case (API.md: ``404 no_strategy``), so a case just placed
in a portfolio no strategy covers has none."""


@schemathesis.check
def ensure_resource_availability_but_plans(ctx: Any, response: Any, case: Any) -> bool | None:
    """``ensure_resource_availability``, except for a documented 404 of such a sub-resource."""
    try:
        return ensure_resource_availability(ctx, response, case)
    except EnsureResourceAvailability:
        try:
            code = json.loads(response.content).get("code")
        except ValueError:
            code = None
        if code in RESOURCES_THAT_MAY_NOT_EXIST:
            return None
        raise


TEXT_BODIES = {("POST", "/v1/cases/import")}
"""Operations whose body is text (NDJSON or text/plain): on the wire every such body is a string."""


@schemathesis.check
def negative_data_rejection_on_the_wire(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, except for a text body generated with the wrong JSON type.

    schemathesis' "incorrect type" import body (an object, a number) is no request a client
    can send: serialized it is NDJSON text like any other (``{}`` becomes the line ``{}``), and
    the import answers it as API.md says, ``200`` with the line reported in ``rejected``."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if (case.method.upper(), case.path) in TEXT_BODIES and not isinstance(case.body, str | bytes):
            return None
        raise


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """The import's NDJSON body: a generated string as is, anything else one JSON value a line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    items = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)
