"""Contact compliance: rules as data per jurisdiction, two pure checks, and how long an
answer of the first stands.

See :mod:`ledger.domain.compliance.rules` for the list of rule codes.
"""

from ledger.domain.compliance.checks import breaches, permission
from ledger.domain.compliance.presets import (
    CN,
    DEFAULT,
    GB,
    PRESETS,
    US,
    country_of,
    preset_for,
    rules_for,
)
from ledger.domain.compliance.rules import (
    RULE_CODES,
    ComplianceContext,
    ContactRules,
    Decision,
    Reason,
)
from ledger.domain.compliance.stability import (
    allowed_stands_until,
    refusal_stands_until_next_allowed,
)

__all__ = [
    "CN", "DEFAULT", "GB", "PRESETS", "RULE_CODES", "US", "ComplianceContext", "ContactRules",
    "Decision", "Reason", "allowed_stands_until", "breaches", "country_of", "permission",
    "preset_for", "refusal_stands_until_next_allowed", "rules_for",
]
