"""Template bodies: checked when saved, rendered in a sandbox over the fixed field list.

Bodies are Jinja2 templates run in ``SandboxedEnvironment`` (no attribute starting with an
underscore, no unsafe calls) with ``StrictUndefined`` (a field that is not given is an error,
never an empty string). Autoescaping is off: sms, email text and letters are plain text.

The sandbox keeps a body from reaching Python, not from using the CPU and memory of the whole
server: ``{{ debtor_name * 100000000 }}``, ``{{ 9 ** 9 ** 9 }}``, ``debtor_name.ljust(10**9)``
or ``{% set x = x ~ x %}`` repeated, and loops nested in loops, each stall every tenant's
requests. The fields are plain values, so a body needs no more than text, the fields, ``if``
and a few filters: only those constructs (``ALLOWED_NODES``, ``ALLOWED_FILTERS``) are
accepted, when saved and again when rendered (a template stored before this rule), and a
rendering longer than ``MAX_RENDERED`` is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes, pass_environment
from jinja2.filters import do_truncate
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.messaging.fields import (
    FIELDS, OPT_OUT_CHANNELS, VALIDATION_NOTICE_FIELDS, MessageChannel,
)
from ledger.domain.messaging.segments import MAX_SEGMENTS, sms_segments

MAX_BODY = {MessageChannel.SMS: 2_000, MessageChannel.EMAIL: 50_000,
            MessageChannel.LETTER: 20_000}
MAX_SUBJECT = 300
SAMPLE_VALUES: dict[str, str] = {
    "debtor_name": "Alexandra Montgomery-Smith", "balance": "$12,345.67", "currency": "USD",
    "external_ref": "CC-000123-2026", "promise_amount": "$1,234.56",
    "promise_due_date": "2026-12-31", "agency_name": "Ledger Collections",
    "opt_out": "Reply STOP to opt out.", "itemization_date": "2026-09-01",
    "itemization_amount": "$12,345.67", "interest_since": "$123.45", "fees_since": "$12.34",
    "payments_since": "$1,234.56", "credits_since": "$0.00", "current_amount": "$11,246.90",
    "validation_period_ends": "2026-12-30",
}
"""Realistic values used to render a template when it is saved."""
WITHOUT_OPTIONAL = {**SAMPLE_VALUES, **dict.fromkeys(
    ("promise_amount", "promise_due_date", *VALIDATION_NOTICE_FIELDS), "")}
"""The same for a case without a pending promise, outside a validation notice (empty text)."""


class UnknownField(DomainError):
    code = "unknown_field"
    http_status = 422


class OptOutMissing(DomainError):
    code = "opt_out_missing"
    http_status = 422


class MessageTooLong(DomainError):
    code = "message_too_long"
    http_status = 422


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                            keep_trailing_newline=True)
# Jinja's global helpers (range, lipsum, dict, cycler, joiner, namespace) are not fields:
# without them a body can name only the fields, which the check on saving then sees.
_ENV.globals.clear()


@pass_environment
def _truncate(env: Any, s: Any, length: Any = 255, killwords: Any = False, end: Any = "...",
              leeway: Any = None) -> str:
    """Jinja's ``truncate``, total: Jinja asserts that ``length`` is at least the ending's
    and ``leeway`` not negative, and which holds can depend on a field (``end=debtor_name``),
    so a body saved with the sample values could fail for one debtor. Here a negative length
    or leeway counts as 0, one that is not a whole number as Jinja's default, and an ending
    longer than the length is left off."""
    length = max(_whole(length, 255), 0)
    end = str(end)
    leeway = max(_whole(leeway, env.policies["truncate.leeway"]), 0)
    return do_truncate(env, str(s), length, killwords, end if len(end) <= length else "", leeway)


def _whole(value: Any, default: int) -> int:
    """``value`` as a whole number, else ``default`` (a field's text, an infinite float)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


_ENV.filters["truncate"] = _truncate

ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If,
    nodes.CondExpr, nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And,
    nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Concat, nodes.Add, nodes.Keyword)
"""What a body may be made of: no loops, assignments, macros, attribute or item access,
calls, or arithmetic that multiplies (each size of the output is then bounded by the size of
the body times that of the fields)."""
ALLOWED_FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d",
                             "truncate"})
"""None that can grow text by a factor (``replace('', …)`` would: Jinja works constant
expressions out while compiling, before any limit on the rendering could apply)."""
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "eq", "ne",
                           "lt", "le", "gt", "ge", "lower", "upper"})
MAX_RENDERED = 100_000
"""Characters a rendering may have (a letter of many pages; an sms or email is far less)."""
_TEMPLATE_NAMES = frozenset({"self", "varargs", "kwargs"})
"""Names Jinja resolves itself, which ``find_undeclared_variables`` does not report."""


def _parse(source: str, field: str) -> Any:
    try:
        return _ENV.parse(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise InvalidRequest(field, f"not a valid template{where}") from None


def _check_constructs(parsed: nodes.Template, field: str) -> None:
    for node in parsed.find_all(nodes.Node):
        if not isinstance(node, ALLOWED_NODES):
            raise InvalidRequest(field, f"templates may not use {_construct(node)}; only "
                                 "text, fields, if/else and the filters "
                                 f"{', '.join(sorted(ALLOWED_FILTERS))}")
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise InvalidRequest(field, f"unknown filter `{node.name}`; allowed: "
                                 f"{', '.join(sorted(ALLOWED_FILTERS))}")
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            raise InvalidRequest(field, f"unknown test `{node.name}`; allowed: "
                                 f"{', '.join(sorted(ALLOWED_TESTS))}")
        if isinstance(node, nodes.Const) and isinstance(node.value, float) and not (
                math.isfinite(node.value)):  # ``1e400``: Jinja would compile it to a bad name
            raise InvalidRequest(field, "numbers must be finite")


def _construct(node: nodes.Node) -> str:
    names = {nodes.For: "{% for %}", nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}",
             nodes.Macro: "macros", nodes.Getattr: "attributes", nodes.Getitem: "indexing",
             nodes.Call: "calls", nodes.Mul: "`*`", nodes.Pow: "`**`", nodes.Mod: "`%`"}
    return names.get(type(node), f"`{type(node).__name__}`")


def _always_shows_opt_out(parsed: nodes.Template) -> bool:
    """``{{ opt_out }}`` itself (no filter, no expression) at the top level of the body, and
    never assigned: shown in every message whatever the fields hold."""
    if "opt_out" not in meta.find_undeclared_variables(parsed):
        return False  # assigned in the template ({% set opt_out = '' %}) or not used
    return any(isinstance(node, nodes.Output) and any(
        isinstance(part, nodes.Name) and part.name == "opt_out" for part in node.nodes)
        for node in parsed.body)


def render_text(source: str, values: Mapping[str, str], field: str = "body") -> str:
    """Render ``source`` with ``values``; anything the sandbox refuses is ``invalid_request``."""
    parsed = _parse(source, field)
    _check_constructs(parsed, field)
    try:
        rendered = _ENV.from_string(parsed).render(dict(values))
    except SecurityError:
        raise InvalidRequest(field, "the template uses something the sandbox forbids") from None
    except TemplateError as error:
        raise InvalidRequest(field, f"the template cannot be rendered: {type(error).__name__}") from None
    except Exception:  # noqa: BLE001 - whatever a body makes Jinja raise is the body's fault
        raise InvalidRequest(field, "the template cannot be rendered") from None
    if len(rendered) > MAX_RENDERED:
        raise MessageTooLong(f"the {field} renders to more than {MAX_RENDERED:,} characters")
    return rendered


def check_sms_length(text: str) -> None:
    if sms_segments(text) > MAX_SEGMENTS:
        raise MessageTooLong(f"an sms may use at most {MAX_SEGMENTS} segments")


def validate_template(channel: MessageChannel | str, body: str, subject: str | None) -> None:
    """Refuse a template that could not be sent: unknown fields, no opt-out, too long,
    not renderable in the sandbox."""
    channel = MessageChannel(channel)
    for field, source, limit in (("body", body, MAX_BODY[channel]),
                                 ("subject", subject, MAX_SUBJECT)):
        if source is None:
            continue
        if not isinstance(source, str) or (field == "body" and not source.strip()):
            raise InvalidRequest(field, "must be a non-empty string")
        if len(source) > limit:
            raise InvalidRequest(field, f"must be at most {limit} characters")
        parsed = _parse(source, field)
        # Before anything compiles it: Jinja folds constant expressions while compiling
        # (``find_undeclared_variables`` does), so ``'%0100000000d' % 1`` would be computed.
        _check_constructs(parsed, field)
        unknown = sorted((meta.find_undeclared_variables(parsed) - FIELDS) | {
            n.name for n in parsed.find_all(nodes.Name) if n.name in _TEMPLATE_NAMES})
        if unknown:
            raise UnknownField(f"{field} uses unknown field `{unknown[0]}`; "
                               f"known fields: {', '.join(sorted(FIELDS))}")
    if channel is MessageChannel.EMAIL and subject is None:
        raise InvalidRequest("subject", "an email template needs a subject")
    if channel in OPT_OUT_CHANNELS and not _always_shows_opt_out(_parse(body, "body")):
        raise OptOutMissing(f"an {channel} body must contain {{{{ opt_out }}}}, outside any "
                            "{% if %}, {% for %} or other block, so every message shows it")
    # Rendered as for a case with every field and as for one without the optional ones
    # (no pending promise, not a validation notice): both branches of an ``if`` on them.
    rendered = render_text(body, SAMPLE_VALUES)
    render_text(body, WITHOUT_OPTIONAL)
    if subject is not None:
        render_text(subject, SAMPLE_VALUES, "subject")
        render_text(subject, WITHOUT_OPTIONAL, "subject")
    if channel is MessageChannel.SMS:
        check_sms_length(rendered)
