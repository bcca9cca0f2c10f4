"""Strategy documents for the unit tests (imported by name, like ``case_builders``)."""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.domain.strategy.document import StrategyDocument

CARDS_DEFAULT: dict[str, Any] = {
    "name": "cards-default", "portfolios": ["cards-2026q3"],
    "segments": [
        {"name": "early", "when": {"dpd_max": 30, "score": {"model": "behaviour", "min": 600}},
         "steps": [{"day": 0, "action": "sms", "template": "reminder", "auto": True},
                   {"day": 2, "action": "call"}, {"day": 7, "action": "letter", "template": "notice"}]},
        {"name": "late", "when": {"dpd_min": 91}, "steps": [{"day": 0, "action": "call"},
                                                           {"day": 21, "action": "escalate"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]},
    ],
    "challenger": {"split": 0.2, "segments": [
        {"name": "late-soft", "when": {"dpd_min": 91},
         "steps": [{"day": 0, "action": "sms", "template": "reminder"}, {"day": 3, "action": "call"}]},
        {"name": "rest", "when": {}, "steps": [{"day": 0, "action": "call"}]},
    ]},
}


def document(**changes: Any) -> StrategyDocument:
    raw = {**CARDS_DEFAULT, **changes}
    return msgspec.convert(raw, StrategyDocument)
