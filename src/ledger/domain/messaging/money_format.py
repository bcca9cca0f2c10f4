"""Money in messages: integer minor units shown in the currency's own way for a locale."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern

from ledger.domain.errors import InvalidRequest
from ledger.domain.money import currency_exponent


@lru_cache(maxsize=256)
def parse_locale(name: str) -> Locale:
    """``en_US`` or ``en-US`` → a babel Locale; unknown is ``invalid_request`` on ``locale``."""
    if not isinstance(name, str) or not 2 <= len(name) <= 35:
        raise InvalidRequest("locale", "must be a locale such as en_US")
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidRequest("locale", "unknown locale") from None


@lru_cache(maxsize=1024)
def _pattern(locale: str, exponent: int) -> NumberPattern:
    # The locale's currency pattern with the ISO 4217 exponent (babel's own digits differ for
    # a few codes, e.g. XAU), so 123456 JPY is ¥123,456 and 5 XAU is never XAU0.05.
    pattern = copy.copy(parse_locale(locale).currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return pattern


def format_money(amount: int, currency: str, locale: str) -> str:
    """``format_money(123456, "USD", "en_US")`` → ``$1,234.56``."""
    exponent = currency_exponent(currency)
    value = Decimal(amount).scaleb(-exponent)
    return str(_pattern(locale, exponent).apply(value, parse_locale(locale), currency=currency,
                                                 currency_digits=False))
