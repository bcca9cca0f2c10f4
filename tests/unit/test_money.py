"""Money: integer minor units, ISO 4217 exponents, refusals."""

import pytest

from ledger.domain.errors import CurrencyMismatch, InvalidRequest
from ledger.domain.money import (
    Allocation,
    Money,
    allocate_payment,
    allocate_waiver,
    currency_exponent,
    validate_amount,
    validate_currency,
)


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("JPY", 0), ("BHD", 3), ("XAU", 0)])
def test_the_exponent_of_a_currency_comes_from_iso4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["ABC", "usd", "US", "", None, 840, "XXX", "XTS"])
def test_an_unknown_currency_or_no_currency_is_an_invalid_request_on_the_currency_field(code: object) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_currency(code)
    assert refused.value.code == "invalid_request" and refused.value.field == "currency"


@pytest.mark.parametrize("amount", [0, -1, 10**12 + 1, 1.5, True, "100"])
def test_an_amount_must_be_a_positive_integer_up_to_a_trillion(amount: object) -> None:
    with pytest.raises(InvalidRequest):
        validate_amount(amount)
    assert validate_amount(10**12) == 10**12


def test_money_in_another_currency_is_refused_not_converted() -> None:
    with pytest.raises(CurrencyMismatch) as refused:
        Money(100, "USD") + Money(100, "EUR")
    assert refused.value.code == "currency_mismatch"
    assert Money(100, "USD") - Money(30, "USD") == Money(70, "USD")


def test_a_payment_is_allocated_to_fees_then_interest_then_principal_then_credit() -> None:
    assert allocate_payment(50, fees=10, interest=20, principal=100) == Allocation(10, 20, 20, 0)
    assert allocate_payment(200, fees=10, interest=20, principal=100) == Allocation(10, 20, 100, 70)


def test_a_waiver_forgives_interest_then_fees_then_principal() -> None:
    assert allocate_waiver(35, fees=10, interest=20, principal=100) == Allocation(10, 20, 5, 0)
