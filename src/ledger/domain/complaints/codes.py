"""The documented values of a complaint's resolution (README, "API notes")."""

from __future__ import annotations

OUTCOMES = ("upheld", "rejected", "partial")
ROOT_CAUSES = (
    "agent_conduct",          # how a collector behaved
    "contact_frequency",      # too many or badly timed contacts
    "communication_error",    # wrong, unclear or missing information sent
    "incorrect_balance",      # amount, interest or fees wrong
    "payment_processing",     # payment missed, misallocated or late
    "arrangement_handling",   # plan or settlement mishandled
    "data_error",             # wrong debtor data, wrong person contacted
    "vulnerability",          # vulnerable customer not identified or supported
    "process_error",          # our procedure was wrong or not followed
    "system_error",           # our software failed
    "third_party",            # the bank, an agency or a supplier
    "no_fault_found",         # nothing went wrong on our side
    "other",
)
