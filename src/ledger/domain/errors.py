"""Typed refusals raised by the domain.

Every error carries a stable ``code`` (the ``code`` of the HTTP problem document in
API.md) so the API layer can map an exception to a response without string matching:

* :class:`InvalidRequest` (``invalid_request``) and :class:`TimeInFuture`
  (``time_in_future``) are validation failures (HTTP 422); they name the offending field.
* Every other :class:`DomainError` is a business rule refusing a command (HTTP 409).

Messages never contain debtor personal data, so they are safe to log and to return.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every refusal; ``code`` is stable, ``detail`` is for humans."""

    code: str = "domain_error"
    http_status: int = 409

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code.replace("_", " ")


class InvalidRequest(DomainError):
    """A field failed validation (bad amount, unknown currency or time zone, ...)."""

    code = "invalid_request"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TimeInFuture(InvalidRequest):
    """A business time lies after ``now`` plus the allowed clock skew."""

    code = "time_in_future"


class CaseClosed(DomainError):
    code = "case_closed"


class CaseOpen(DomainError):
    code = "case_open"


class PromiseExceedsBalance(DomainError):
    code = "promise_exceeds_balance"


class DueDateInPast(DomainError):
    code = "due_date_in_past"


class PromisePending(DomainError):
    code = "promise_pending"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class DuplicatePayment(DomainError):
    """Same ``external_id`` as a recorded payment but different fields."""

    code = "duplicate_payment"


class UnknownPayment(DomainError):
    code = "unknown_payment"


class AlreadyReversed(DomainError):
    code = "already_reversed"


class ArrangementActive(DomainError):
    code = "arrangement_active"


class ArrangementExceedsBalance(DomainError):
    code = "arrangement_exceeds_balance"


class DisputeOpen(DomainError):
    code = "dispute_open"


class UnknownDispute(DomainError):
    code = "unknown_dispute"


class UnknownHold(DomainError):
    code = "unknown_hold"


class HoldForOpenComplaint(DomainError):
    code = "hold_for_open_complaint"


class WaiverExceedsBalance(DomainError):
    code = "waiver_exceeds_balance"


class BalanceOutstanding(DomainError):
    code = "balance_outstanding"


class ChargesFrozen(DomainError):
    """Interest or fee added while a hold that freezes charges (GB breathing space) runs."""

    code = "charges_frozen"


ALL_ERRORS: tuple[type[DomainError], ...] = (
    InvalidRequest, TimeInFuture, CaseClosed, CaseOpen, PromiseExceedsBalance,
    DueDateInPast, PromisePending, CurrencyMismatch, DuplicatePayment, UnknownPayment,
    AlreadyReversed, ArrangementActive, ArrangementExceedsBalance, DisputeOpen,
    UnknownDispute, UnknownHold, WaiverExceedsBalance, BalanceOutstanding, ChargesFrozen,
)
