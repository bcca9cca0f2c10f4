"""Rules the code enforces that litestar cannot derive from the types, stated in the document.

A request that follows ``/schema/openapi.json`` must not be refused for a rule the document
keeps quiet about, and one that breaks the document must be refused: clients and fuzzers
(``tests/e2e/test_outside_fuzzer.py`` runs schemathesis' command line) rely on both. Rules
between fields go here; rules on one field belong on its type (``msgspec.Meta``, ``Literal``,
``Instant``).
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from babel import Locale, localedata
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Schema

from ledger.api.schemas.common import Request as RequestStruct
from ledger.api.schemas.strategies import ChallengerIn, ScoreConditionIn, SegmentIn, StepIn, WhenIn
from ledger.webhooks.endpoints import KNOWN_TYPES

ONE_OF_AGENT_OR_AGENCY = [
    {"required": ["agent_id"], "properties": {"agent_id": {"type": "string"}}},
    {"required": ["agency"], "properties": {"agency": {"type": "string"}}},
]
ONLY_AGENT_KEYS_BOUND = [
    {"properties": {"role": {"const": "agent"}}},
    {"properties": {"agent_id": {"type": "null"}}},
]
AGENT_NAMED = (
    " Required from keys not bound to an agent (a bound agent key may omit it: the fact is its"
    " own; naming another agent is `403 agent_mismatch`)."
)

OWES_SOMETHING = [  # principal + interest + fees > 0 (each is ≥ 0)
    {"properties": {name: {"minimum": 1}}, "required": [name]}
    for name in ("principal", "interest", "fees")
]

OPT_OUT_IN_BODY = r"\{\{-? *opt_out *-?\}\}"
"""A body that prints ``{{ opt_out }}`` (what sms and email templates must do)."""
TEMPLATE_PER_CHANNEL = [  # limits of domain/messaging/templates.py, per channel
    {"properties": {"channel": {"const": "letter"}, "body": {"max_length": 20_000}}},
    {"properties": {"channel": {"const": "sms"},
                    "body": {"max_length": 2_000, "pattern": OPT_OUT_IN_BODY}}},
    {"properties": {"channel": {"const": "email"}, "body": {"pattern": OPT_OUT_IN_BODY},
                    "subject": {"type": "string"}}, "required": ["subject"]},
]
STEP_PER_ACTION = [  # domain/strategy/document.py: only message steps send a template
    {"properties": {"action": {"enum": ["sms", "email", "letter"]},
                    "template": {"type": "string"}}, "required": ["template"]},
    {"properties": {"action": {"enum": ["call", "visit", "escalate", "review"]},
                    "template": {"type": "null"}, "auto": {"const": False}}},
]
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HTTPS_URL = (rf"^https://{_LABEL}(?:\.{_LABEL})*\.?{_PORT}(?:[/?][\x21\x22\x24-\x7e]*)?$")
"""An absolute https URL without credentials or fragment (domain/webhooks/rules.py). Plain
http to hosts an operator allow-lists is a deployment exception the document leaves out."""


CATCH_ALL_FIELDS = ("dpd_min", "dpd_max", "balance_min", "balance_max", "score", "jurisdiction",
                    "statuses")
"""A segment whose ``when`` sets none of these matches every case; a document needs one."""


def _catch_all() -> Schema:
    empty = Schema(properties={name: Schema(type=OpenAPIType.NULL) for name in CATCH_ALL_FIELDS})
    return Schema(properties={"when": empty}, required=["when"])


def _locales() -> list[str]:
    """Every locale babel knows (what ``money_format.parse_locale`` accepts, as written)."""
    found = []
    for name in localedata.locale_identifiers():
        try:
            Locale.parse(name)
        except (ValueError, TypeError):
            continue
        found.append(name)
    return sorted(found)


def _event_types() -> list[Schema]:
    """Known event types, 1 to 100 of them, or ``["*"]`` alone (domain/webhooks/endpoint.py)."""
    known = Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING,
                                                        enum=sorted(KNOWN_TYPES)),
                   min_items=1, max_items=100)
    every = Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.STRING, const="*"),
                   min_items=1, max_items=1)
    return [known, every]


_NESTED_STRICT = {cls.__name__: cls for cls in (ChallengerIn, ScoreConditionIn, SegmentIn, StepIn,
                                                WhenIn)}

# Component name → how to complete its schema.
REDRESS_ONLY_IF_UPHELD = [  # a rejected complaint gets no redress
    {"properties": {"outcome": {"enum": ["upheld", "partial"]}}},
    {"properties": {"redress": {"type": "null"}}},
]
_RULES: dict[str, dict[str, Any]] = {
    "ResolutionIn": {"any_of": REDRESS_ONLY_IF_UPHELD},
    "Assign": {"one_of": ONE_OF_AGENT_OR_AGENCY},
    "CreateKey": {"any_of": ONLY_AGENT_KEYS_BOUND},
    "PlaceCase": {"any_of": OWES_SOMETHING},
    "SaveTemplate": {"any_of": TEMPLATE_PER_CHANNEL, "locales": "locale"},
    "StepIn": {"any_of": STEP_PER_ACTION},
    "SaveStrategy": {"catch_all": "segments", "unique": "portfolios"},
    "ChallengerIn": {"catch_all": "segments"},
    "CreateEndpoint": {"pattern": ("url", HTTPS_URL), "event_types": False},
    "ChangeEndpoint": {"pattern": ("url", HTTPS_URL), "event_types": True},
    # The document is read with an unbound key (admin, supervisor): for it ``agent_id`` is
    # required, and the description says when it is not.
    "RecordContact": {"required": "agent_id", "describe": ("agent_id", AGENT_NAMED)},
    "MakePromise": {"required": "agent_id", "describe": ("agent_id", AGENT_NAMED)},
}


def declare_rules(app: Litestar) -> None:
    """Complete the generated document in place (call once, after the app is built)."""
    schemas = app.openapi_schema.components.schemas or {}
    strict = {cls.__name__: cls for cls in _subclasses(RequestStruct)}
    for name, schema in schemas.items():
        if not isinstance(schema, Schema):
            continue
        if name in _NESTED_STRICT:  # parts of a request body: unknown fields and NUL refused
            schema.additional_properties = False
            _field_rules(schema, _NESTED_STRICT[name])
        if name in strict:
            # litestar does not emit ``additionalProperties: false`` for forbid_unknown_fields.
            schema.additional_properties = False
            _field_rules(schema, strict[name])
        rule = _RULES.get(name)
        if rule is None:
            continue
        if "one_of" in rule:
            schema.one_of = [Schema(**_snake(branch)) for branch in rule["one_of"]]
        if "any_of" in rule:
            schema.any_of = [Schema(**_snake(branch)) for branch in rule["any_of"]]
        if "required" in rule:
            field = rule["required"]
            schema.required = sorted({*(schema.required or []), field})
            prop = (schema.properties or {}).get(field)
            if isinstance(prop, Schema) and prop.one_of:  # required: null is not a value then
                prop.one_of, prop.type = None, OpenAPIType.STRING
        if "pattern" in rule:
            field, pattern = rule["pattern"]
            prop = (schema.properties or {}).get(field)
            for text in [prop, *(prop.one_of or [])] if isinstance(prop, Schema) else []:
                if isinstance(text, Schema) and text.type == OpenAPIType.STRING:
                    text.pattern = pattern
        if "event_types" in rule and isinstance((schema.properties or {}).get("event_types"),
                                                Schema):
            nullable = [Schema(type=OpenAPIType.NULL)] if rule["event_types"] else []
            schema.properties["event_types"] = Schema(  # type: ignore[index]
                any_of=[*_event_types(), *nullable],
                description="Event types to receive (`[\"*\"]` alone: every type).")
        if "catch_all" in rule:
            prop = (schema.properties or {}).get(rule["catch_all"])
            if isinstance(prop, Schema):
                prop.contains = _catch_all()
        if "unique" in rule:
            prop = (schema.properties or {}).get(rule["unique"])
            if isinstance(prop, Schema):
                prop.unique_items = True
        if "locales" in rule:
            prop = (schema.properties or {}).get(rule["locales"])
            if isinstance(prop, Schema):
                prop.enum, prop.pattern = _locales(), None
        if "describe" in rule:
            field, text = rule["describe"]
            prop = (schema.properties or {}).get(field)
            if isinstance(prop, Schema):
                prop.description = " ".join(filter(None, [prop.description, text.strip()]))


NO_NUL = "^[^\\x00]*$"
"""Request text may not hold U+0000 (PostgreSQL text cannot; ``Request`` refuses it)."""
_BOUNDS = (("gt", "exclusive_minimum"), ("ge", "minimum"), ("lt", "exclusive_maximum"),
           ("le", "maximum"))


def _field_rules(schema: Schema, struct: type) -> None:
    """Per field: bounds litestar drops on optional numbers when they are 0 (``gt=0``), and
    the no-NUL rule on every text without a pattern of its own."""
    for field in msgspec.inspect.type_info(struct).fields:  # type: ignore[union-attr]
        prop = (schema.properties or {}).get(field.encode_name)
        if not isinstance(prop, Schema):
            continue
        top = field.type.type if isinstance(field.type, mi.Metadata) else field.type
        kinds = top.types if isinstance(top, mi.UnionType) else (top,)
        for kind in kinds:
            kind = kind.type if isinstance(kind, mi.Metadata) else kind
            if isinstance(kind, (mi.IntType, mi.FloatType)):
                for constraint, attribute in _BOUNDS:
                    value = getattr(kind, constraint)
                    if value is not None and getattr(prop, attribute) is None:
                        setattr(prop, attribute, value)
            elif isinstance(kind, mi.StrType):
                _text_rules(prop, kind)
            elif (isinstance(kind, mi.ListType) and isinstance(_bare(kind.item_type), mi.StrType)
                  and isinstance(prop.items, Schema) and not prop.items.enum):
                _text_rules(prop.items, _bare(kind.item_type))


def _text_rules(prop: Schema, kind: mi.StrType) -> None:
    """Lengths and pattern as msgspec checks them (litestar drops them on list items)."""
    if kind.min_length is not None and prop.min_length is None:
        prop.min_length = kind.min_length
    if kind.max_length is not None and prop.max_length is None:
        prop.max_length = kind.max_length
    if prop.pattern is None:
        prop.pattern = kind.pattern or NO_NUL


def _bare(kind: Any) -> Any:
    return kind.type if isinstance(kind, mi.Metadata) else kind


def _snake(branch: dict[str, Any]) -> dict[str, Any]:
    """A branch as ``Schema`` keyword arguments (nested property schemas as ``Schema`` too)."""
    out: dict[str, Any] = {}
    for key, value in branch.items():
        if key == "properties":
            out["properties"] = {name: Schema(**_snake(sub)) for name, sub in value.items()}
        elif key == "type":
            out["type"] = OpenAPIType(value)
        else:
            out[key] = value
    return out


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
