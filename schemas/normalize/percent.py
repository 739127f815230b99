"""Percentages with an explicit per-field rule, normalised to percent points 0..100 as Decimal.

"35%" is 35 under every rule. A bare number is read by the field's `PercentRule`: FRACTION (0.35 -> 35),
PERCENT (35 -> 35) or AUTO, where a bare number above 1 is percent points, 0 is 0, and a bare number in (0, 1]
is rejected as "ambiguous_percent" (0.5 could be 50% or half a percent, 1 could be 100% or 1%). A lone "," or
"." is always the decimal mark ("35,5%" -> 35.5). Results outside 0..100 are "percent_out_of_range".
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from schemas.normalize.errors import NormalisationError
from schemas.normalize.numeric import GroupReading, NumberSyntaxError, finite_decimal, parse_unsigned, split_sign
from schemas.normalize.text import is_null_like

__all__ = ["PercentRule", "normalize_percent"]

_HUNDRED = Decimal(100)


class PercentRule(Enum):
    """How a field writes a bare (unsigned by "%") percentage."""

    FRACTION = "fraction"
    PERCENT = "percent"
    AUTO = "auto"


def _plain(number: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (35.00 -> 35, 12.50 -> 12.5)."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def _parse(value: int | float | Decimal | str) -> tuple[Decimal, bool]:
    """Return (number, written_with_percent_sign)."""
    if not isinstance(value, str):
        return finite_decimal(value), False
    text = value.strip()
    has_sign = text.endswith("%")
    negative, digits = split_sign(text.removesuffix("%"))
    number = parse_unsigned(digits.strip(), GroupReading.DECIMAL)
    return (-number if negative else number), has_sign


def _to_points(number: Decimal, rule: PercentRule, field: str | None, value: object) -> Decimal:
    """Scale a bare number to percent points under the rule."""
    if rule is PercentRule.FRACTION:
        return number * _HUNDRED
    if rule is PercentRule.AUTO and 0 < number <= 1:
        message = "a bare number in (0, 1] may be a fraction or percent points; set the field's rule"
        raise NormalisationError(field, value, "ambiguous_percent", message)
    return number


def normalize_percent(value: object, *, rule: PercentRule, field: str | None = None) -> Decimal | None:
    """Normalise a percentage to Decimal percent points 0..100 under the field's rule."""
    if is_null_like(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise NormalisationError(field, value, "invalid_percent", "expected a number or percent text")
    try:
        number, has_sign = _parse(value)
    except NumberSyntaxError as exc:
        raise NormalisationError(field, value, "invalid_percent", str(exc)) from exc
    points = number if has_sign else _to_points(number, rule, field, value)
    if not 0 <= points <= _HUNDRED:
        raise NormalisationError(field, value, "percent_out_of_range", f"{points} is outside 0..100 percent")
    return _plain(points)
