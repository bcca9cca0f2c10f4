"""Rules the code enforces that litestar cannot derive from the types, stated in the document.

A request that follows ``/schema/openapi.json`` must not be refused for a rule the document
keeps quiet about, and one that breaks the document must be refused: clients and fuzzers
(``tests/e2e/test_outside_fuzzer.py`` runs schemathesis' command line) rely on both. Rules
between fields go here; rules on one field belong on its type (``msgspec.Meta``, ``Literal``,
``Instant``).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Schema

from ledger.api.schemas.common import Request as RequestStruct

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

# Component name → how to complete its schema.
_RULES: dict[str, dict[str, Any]] = {
    "Assign": {"one_of": ONE_OF_AGENT_OR_AGENCY},
    "CreateKey": {"any_of": ONLY_AGENT_KEYS_BOUND},
    # The document is read with an unbound key (admin, supervisor): for it ``agent_id`` is
    # required, and the description says when it is not.
    "RecordContact": {"required": "agent_id", "describe": ("agent_id", AGENT_NAMED)},
    "MakePromise": {"required": "agent_id", "describe": ("agent_id", AGENT_NAMED)},
}


def declare_rules(app: Litestar) -> None:
    """Complete the generated document in place (call once, after the app is built)."""
    schemas = app.openapi_schema.components.schemas or {}
    strict = {cls.__name__ for cls in _subclasses(RequestStruct)}
    for name, schema in schemas.items():
        if not isinstance(schema, Schema):
            continue
        if name in strict:
            # litestar does not emit ``additionalProperties: false`` for forbid_unknown_fields.
            schema.additional_properties = False
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
        if "describe" in rule:
            field, text = rule["describe"]
            prop = (schema.properties or {}).get(field)
            if isinstance(prop, Schema):
                prop.description = " ".join(filter(None, [prop.description, text.strip()]))


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
