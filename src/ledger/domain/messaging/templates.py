"""Template bodies: checked when saved, rendered in a sandbox over the fixed field list.

Bodies are Jinja2 templates run in ``SandboxedEnvironment`` (no attribute starting with an
underscore, no unsafe calls) with ``StrictUndefined`` (a field that is not given is an error,
never an empty string). Autoescaping is off: sms, email text and letters are plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.messaging.fields import FIELDS, OPT_OUT_CHANNELS, MessageChannel
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
"""Realistic values used to render a template once when it is saved."""


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
_TEMPLATE_NAMES = frozenset({"self", "varargs", "kwargs"})
"""Names Jinja resolves itself, which ``find_undeclared_variables`` does not report."""


def _parse(source: str, field: str) -> Any:
    try:
        return _ENV.parse(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise InvalidRequest(field, f"not a valid template{where}") from None


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
    try:
        return _ENV.from_string(source).render(dict(values))
    except SecurityError:
        raise InvalidRequest(field, "the template uses something the sandbox forbids") from None
    except TemplateError as error:
        raise InvalidRequest(field, f"the template cannot be rendered: {type(error).__name__}") from None
    except (TypeError, ValueError, ArithmeticError, OverflowError, RecursionError):
        raise InvalidRequest(field, "the template cannot be rendered") from None


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
    rendered = render_text(body, SAMPLE_VALUES)
    if subject is not None:
        render_text(subject, SAMPLE_VALUES, "subject")
    if channel is MessageChannel.SMS:
        check_sms_length(rendered)
