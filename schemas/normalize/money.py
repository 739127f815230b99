"""Money amounts and ISO 4217 currency codes as real exports write them ("$1,234.50", "1.234,56 EUR", "($1,200)").

Rules: a currency symbol or ISO code may stand before or after the amount; a sign may be "-", "+", a trailing
"-" or parentheses; "k", "m"/"mm" and "b"/"bn" suffixes multiply by 10^3, 10^6 and 10^9. A lone separator
followed by exactly three digits ("1,234", "1.234") is a thousands separator only when a currency is given
whose minor unit has at most two digits (three decimals would be finer than the currency's cent); otherwise,
including for the three-decimal dinars (BHD, IQD, JOD, KWD, LYD, OMR, TND), it is rejected as "ambiguous_money"
unless the caller states the source's `decimal_mark`. Both "," and "." in one value: the last is the decimal mark.
"$" is read as USD; "¥" (JPY or CNY) and "kr" (SEK, NOK, DKK, ISK) give no currency.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

import pycountry

from schemas.normalize.errors import NormalisationError
from schemas.normalize.numeric import (
    AmbiguousNumberError,
    GroupReading,
    NumberSyntaxError,
    finite_decimal,
    parse_unsigned,
    split_multiplier,
)
from schemas.normalize.text import is_null_like

__all__ = ["CURRENCY_SYMBOLS", "DecimalMark", "normalize_currency_code", "normalize_money", "parse_money_with_currency"]

#: Currency symbols (matched case-insensitively) -> ISO 4217 code, or None where the symbol is shared.
CURRENCY_SYMBOLS: dict[str, str | None] = {
    "$": "USD",
    "US$": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "₱": "PHP",
    "฿": "THB",
    "zł": "PLN",
    "¥": None,
    "￥": None,
    "kr": None,
}
_SYMBOLS_BY_KEY = {symbol.casefold(): code for symbol, code in CURRENCY_SYMBOLS.items()}
_THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_SYMBOL_PATTERN = "|".join(re.escape(s) for s in sorted(CURRENCY_SYMBOLS, key=len, reverse=True))
_CURRENCY_PREFIX = re.compile(rf"^(?:{_SYMBOL_PATTERN}|[A-Za-z]{{3}}(?![A-Za-z]))", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(rf"(?:{_SYMBOL_PATTERN}|(?<![A-Za-z])[A-Za-z]{{3}})$", re.IGNORECASE)
_SIGN_CHARS = "-+\u2212"

DecimalMark = Literal[".", ","]


def _currency_code(token: str, field: str | None, value: object) -> str | None:
    """Return the ISO code of a currency symbol or code found in money text (None for a shared symbol)."""
    key = token.casefold()
    if key in _SYMBOLS_BY_KEY:
        return _SYMBOLS_BY_KEY[key]
    currency = pycountry.currencies.get(alpha_3=token.upper())
    if currency is None:
        raise NormalisationError(field, value, "unknown_currency", f"{token!r} is not an ISO 4217 code")
    return str(currency.alpha_3)


class _MoneyText:
    """Peels signs, parentheses, currency markers and magnitude suffixes off a money string."""

    def __init__(self, text: str, field: str | None, value: object) -> None:
        if not any("0" <= ch <= "9" for ch in text):
            raise NormalisationError(field, value, "invalid_money", "no digits")
        self.field, self.value = field, value
        self.rest = text.strip()
        self.signs: list[str] = []
        self.open_parens = self.close_parens = 0
        self.currencies: list[str | None] = []
        self._peel_left()
        self._peel_right()
        self.multiplier, self.rest = split_multiplier(self.rest.strip())

    def _peel_left(self) -> None:
        taken_currency = False
        while self.rest:
            match = _CURRENCY_PREFIX.match(self.rest)
            if self.rest[0] == "(":
                self.open_parens += 1
                self.rest = self.rest[1:]
            elif self.rest[0] in _SIGN_CHARS:
                self.signs.append(self.rest[0])
                self.rest = self.rest[1:]
            elif match and not taken_currency:
                taken_currency = True
                self.currencies.append(_currency_code(match.group(), self.field, self.value))
                self.rest = self.rest[match.end() :]
            else:
                return
            self.rest = self.rest.lstrip()

    def _peel_right(self) -> None:
        taken_currency = False
        while self.rest:
            match = _CURRENCY_SUFFIX.search(self.rest)
            if self.rest[-1] == ")":
                self.close_parens += 1
                self.rest = self.rest[:-1]
            elif self.rest[-1] in _SIGN_CHARS:
                self.signs.append(self.rest[-1])
                self.rest = self.rest[:-1]
            elif match and not taken_currency:
                taken_currency = True
                self.currencies.append(_currency_code(match.group(), self.field, self.value))
                self.rest = self.rest[: match.start()]
            else:
                return
            self.rest = self.rest.rstrip()

    def currency(self) -> str | None:
        """Return the one currency code the markers agree on (None if none or only shared symbols)."""
        codes = {code for code in self.currencies if code is not None}
        if len(codes) > 1:
            raise NormalisationError(self.field, self.value, "conflicting_currency", f"currencies {sorted(codes)}")
        return codes.pop() if codes else None

    def negative(self) -> bool:
        """Return whether the amount is negative; reject unbalanced parentheses and doubled signs."""
        balanced = self.open_parens == self.close_parens <= 1
        if not balanced or self.open_parens + len(self.signs) > 1:
            raise NormalisationError(self.field, self.value, "invalid_money", "malformed sign or parentheses")
        return self.open_parens == 1 or self.signs[:1] in (["-"], ["\u2212"])

    def reading(self) -> GroupReading:
        """Read "1,234" as thousands only when a currency with at most two minor digits is named."""
        if not self.currencies:
            return GroupReading.AMBIGUOUS
        if any(code in _THREE_DECIMAL_CURRENCIES for code in self.currencies):
            return GroupReading.AMBIGUOUS
        return GroupReading.THOUSANDS


def parse_money_with_currency(
    value: object, *, decimal_mark: DecimalMark | None = None, field: str | None = None
) -> tuple[Decimal | None, str | None]:
    """Parse a money value into (amount, ISO 4217 code or None); null-like input gives (None, None).

    `decimal_mark` ("." or ",") states a source's convention and so settles "1,234" and "1.234" without a currency.
    """
    if decimal_mark not in (None, ".", ","):
        raise ValueError(f"decimal_mark must be '.', ',' or None, not {decimal_mark!r}")
    if is_null_like(value):
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise NormalisationError(field, value, "invalid_money", "expected a number or money text")
    if not isinstance(value, str):
        try:
            return finite_decimal(value), None
        except NumberSyntaxError as exc:
            raise NormalisationError(field, value, "invalid_money", str(exc)) from exc
    text = _MoneyText(value, field, value)
    currency = text.currency()
    negative = text.negative()
    try:
        amount = parse_unsigned(text.rest, text.reading(), decimal_mark) * text.multiplier
    except AmbiguousNumberError as exc:
        message = f"{exc}; name the currency or the source's decimal mark"
        raise NormalisationError(field, value, "ambiguous_money", message) from exc
    except NumberSyntaxError as exc:
        raise NormalisationError(field, value, "invalid_money", str(exc)) from exc
    return (-amount if negative else amount), currency


def normalize_money(
    value: object, *, decimal_mark: DecimalMark | None = None, field: str | None = None
) -> Decimal | None:
    """Normalise a money value to an exact Decimal (see the module docstring for the accepted forms)."""
    return parse_money_with_currency(value, decimal_mark=decimal_mark, field=field)[0]


def normalize_currency_code(value: object, *, field: str | None = None) -> str | None:
    """Normalise a currency code, symbol, number or name ("usd", "$", "978", "Euro") to an ISO 4217 code."""
    if is_null_like(value):
        return None
    if not isinstance(value, str):
        raise NormalisationError(field, value, "unknown_currency", "expected currency text")
    text = value.strip()
    key = text.casefold()
    if key in _SYMBOLS_BY_KEY:
        code = _SYMBOLS_BY_KEY[key]
        if code is None:
            raise NormalisationError(field, value, "ambiguous_currency", f"{text!r} is used by several currencies")
        return code
    try:
        return str(pycountry.currencies.lookup(text).alpha_3)
    except LookupError as exc:
        raise NormalisationError(field, value, "unknown_currency", f"{text!r} is not an ISO 4217 currency") from exc
