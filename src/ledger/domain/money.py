"""Money: integer minor units of one ISO 4217 currency, never floats.

A case has exactly one currency. Amounts are plain ``int`` minor units (cents for USD,
yen for JPY, none for XAU) and the exponent comes from the ``iso4217`` package, which
has correct minor units for every code. Mixing currencies is refused, never converted.
"""

from __future__ import annotations

from functools import lru_cache

import iso4217
import msgspec

from ledger.domain.errors import CurrencyMismatch, InvalidRequest

NOT_MONEY = frozenset({"XXX", "XTS"})
"""ISO 4217's codes for "no currency" and "for testing": nothing a debt is owed in."""
MAX_AMOUNT = 10**12
"""Largest amount accepted in one command (minor units); guards against typos and overflow."""


@lru_cache(maxsize=None)
def currency_exponent(code: str) -> int:
    """Number of minor-unit digits of ``code``; codes without minor units (XAU) give 0."""
    return iso4217.Currency(validate_currency(code)).exponent or 0


def validate_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` if it is a known ISO 4217 alphabetic code, else refuse it."""
    if not isinstance(code, str) or len(code) != 3 or not code.isupper():
        raise InvalidRequest(field, "must be a three-letter upper-case ISO 4217 code")
    try:
        iso4217.Currency(code)
    except ValueError:
        raise InvalidRequest(field, "unknown currency") from None
    if code in NOT_MONEY:
        raise InvalidRequest(field, f"{code} is not a currency a debt can be owed in")
    return code


def validate_amount(amount: object, field: str = "amount") -> int:
    """A command amount: an ``int`` (not bool) in ``1 ..= MAX_AMOUNT``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequest(field, "must be an integer number of minor units")
    if amount <= 0:
        raise InvalidRequest(field, "must be positive")
    if amount > MAX_AMOUNT:
        raise InvalidRequest(field, f"must be at most {MAX_AMOUNT}")
    return amount


def validate_component(amount: object, field: str) -> int:
    """A placement component (principal, interest, fees): ``0 ..= MAX_AMOUNT``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequest(field, "must be an integer number of minor units")
    if amount < 0 or amount > MAX_AMOUNT:
        raise InvalidRequest(field, f"must be between 0 and {MAX_AMOUNT}")
    return amount


def ensure_same_currency(expected: str, given: str) -> None:
    if given != expected:
        raise CurrencyMismatch(f"case currency is {expected}, got {given}")


class Money(msgspec.Struct, frozen=True):
    """An amount with its currency, for callers that want the pair in one value."""

    amount: int
    currency: str

    def __add__(self, other: Money) -> Money:
        ensure_same_currency(self.currency, other.currency)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        ensure_same_currency(self.currency, other.currency)
        return Money(self.amount - other.amount, self.currency)


class Allocation(msgspec.Struct, frozen=True):
    """How one movement of money split over the balance components.

    For a payment: what it paid off of each component, plus ``credit`` for the part
    that exceeded everything owed. A reversal restores exactly these figures.
    """

    fees: int = 0
    interest: int = 0
    principal: int = 0
    credit: int = 0

    @property
    def total(self) -> int:
        return self.fees + self.interest + self.principal + self.credit


def allocate_payment(amount: int, fees: int, interest: int, principal: int) -> Allocation:
    """Fees first, then interest, then principal; whatever is left is credit."""
    to_fees = min(amount, fees)
    rest = amount - to_fees
    to_interest = min(rest, interest)
    rest -= to_interest
    to_principal = min(rest, principal)
    return Allocation(to_fees, to_interest, to_principal, rest - to_principal)


def allocate_waiver(amount: int, fees: int, interest: int, principal: int) -> Allocation:
    """A waiver forgives charges before principal: interest, then fees, then principal.

    The caller has already refused a waiver larger than the outstanding components.
    """
    to_interest = min(amount, interest)
    rest = amount - to_interest
    to_fees = min(rest, fees)
    rest -= to_fees
    return Allocation(fees=to_fees, interest=to_interest, principal=min(rest, principal))
