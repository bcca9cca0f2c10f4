"""Contact compliance: rules as data per jurisdiction, and two pure checks.

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

__all__ = [
    "CN", "DEFAULT", "GB", "PRESETS", "RULE_CODES", "US", "ComplianceContext", "ContactRules",
    "Decision", "Reason", "breaches", "country_of", "permission", "preset_for", "rules_for",
]
