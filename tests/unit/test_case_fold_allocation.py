"""The cases projection's fold splits money in business time, as the aggregate does; facts
stored by an older release (no movements kept) go on with the events' own allocations."""

from __future__ import annotations

import msgspec

from ledger.domain.money import Allocation
from ledger.projections.case_facts import DECODER, ENCODER, CaseFacts, facts_from_placement
from ledger.projections.case_fold import apply_event

from case_builders import at, place


def _fold(events: list) -> CaseFacts:
    facts = facts_from_placement(events[0])
    for event in events[1:]:
        apply_event(facts, type(event).__name__, event)
    return facts


def _history() -> list:
    case = place()
    case.adjust_balance(kind="interest", amount=5000, reason="monthly", occurred_at=at(20))
    case.receive_payment(external_id="P1", amount=40000, currency="USD", received_at=at(10),
                         method="card")
    case.reverse_payment(external_id="P1", reason="bounced", reversed_at=at(25))
    case.receive_payment(external_id="P2", amount=9000, currency="USD", received_at=at(5),
                         method="card")
    return case.collect_events()


def test_the_fold_gives_the_aggregates_components_for_facts_reported_out_of_order() -> None:
    events = _history()
    case = place()
    for event in events[1:]:
        event.apply(case)
    facts = _fold(events)
    assert (facts.fees, facts.interest, facts.principal, facts.credit) == (
        case.fees, case.interest, case.principal, case.credit) == (0, 36250 - 5100, 250000, 0)


def test_facts_stored_before_keep_applying_the_events_allocations() -> None:
    events = _history()
    old = _fold(events[:1])
    # What an older release stored: the array without the two trailing fields.
    stored = msgspec.msgpack.encode(msgspec.msgpack.decode(ENCODER.encode(old))[:-2])
    legacy = DECODER.decode(stored)
    assert legacy.movements is None and legacy.placed is None
    for event in events[1:]:
        apply_event(legacy, type(event).__name__, event)
    recorded = [e.allocation for e in events[1:]]
    assert recorded[1] == Allocation(fees=3900, interest=31250, principal=4850)
    assert legacy.balance == 285150 + 5000 - 9000
    assert (legacy.fees, legacy.interest, legacy.principal) == (
        3900 - recorded[3].fees, 36250 - recorded[3].interest, 250000 - recorded[3].principal)
