"""Ledger's own ``behaviour`` score: a published points table over a case's history.

Higher means more likely to pay, 0..1000. Every point comes with a reason code, so a
collector (or a debtor asking why) can see exactly how the value was reached; the table is
in the README ("The behaviour score"). The inputs are the case's own facts at the instant
asked, so the score at ``as_of`` is the score the case had then.

| code | rule | points |
|---|---|---|
| ``base`` | every case starts here | +500 |
| ``promises_kept`` | each kept promise, at most 3 | +60 each |
| ``promises_broken`` | each broken promise, at most 3 | −60 each |
| ``recent_payments`` | each payment received in the last 90 days and not reversed, at most 3 | +50 each |
| ``payments_reversed`` | each reversed payment, at most 2 | −60 each |
| ``right_party_contact_rate`` | with ≥ 3 outbound contacts: right-party share ≥ 30% → +60, < 10% → −40 | +60 / −40 |
| ``days_past_due`` | ≤ 30 → +100; 31–90 → 0; 91–180 → −80; over 180 → −160 | |

Reasons with 0 points are left out; the value is the sum of the reasons (the table cannot
leave 0..1000, the clamp only guards future edits).
"""

from __future__ import annotations

import msgspec

MODEL_VERSION = "ledger-behaviour-1"
BASE = 500
RECENT_DAYS = 90


class BehaviourFacts(msgspec.Struct, frozen=True, kw_only=True):
    promises_kept: int
    promises_broken: int
    recent_payments: int
    payments_reversed: int
    outbound_contacts: int
    right_party_contacts: int
    days_past_due: int


class ScoreReason(msgspec.Struct, frozen=True):
    code: str
    points: int


class BehaviourScore(msgspec.Struct, frozen=True):
    value: int
    reasons: list[ScoreReason]
    model_version: str = MODEL_VERSION


def _contact_points(facts: BehaviourFacts) -> int:
    if facts.outbound_contacts < 3:
        return 0
    share = facts.right_party_contacts / facts.outbound_contacts
    if share >= 0.3:
        return 60
    return -40 if share < 0.1 else 0


def _dpd_points(days: int) -> int:
    if days <= 30:
        return 100
    if days <= 90:
        return 0
    return -80 if days <= 180 else -160


def behaviour_score(facts: BehaviourFacts) -> BehaviourScore:
    """The score and its reasons (see the module's table)."""
    points = [
        ("base", BASE),
        ("promises_kept", 60 * min(facts.promises_kept, 3)),
        ("promises_broken", -60 * min(facts.promises_broken, 3)),
        ("recent_payments", 50 * min(facts.recent_payments, 3)),
        ("payments_reversed", -60 * min(facts.payments_reversed, 2)),
        ("right_party_contact_rate", _contact_points(facts)),
        ("days_past_due", _dpd_points(facts.days_past_due)),
    ]
    reasons = [ScoreReason(code, value) for code, value in points if value or code == "base"]
    total = sum(r.points for r in reasons)
    return BehaviourScore(max(0, min(1000, total)), reasons)
