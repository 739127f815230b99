"""The number grammar shared by the money, percent and integer normalisers, and the integer normaliser itself.

Separator rule: "," and "." are both accepted as decimal mark or thousands
separator, spaces and apostrophes only as thousands separators. When both "," and "." appear, the last one is
the decimal mark. A lone "," or "." is the decimal mark unless it is followed by exactly three digits after a
1-3 digit group not starting with 0 ("1,234", "1.234"); that case is decided by the caller's `GroupReading`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import Enum

from schemas.normalize.errors import NormalisationError
from schemas.normalize.text import is_null_like

__all__ = ["normalize_int"]


class GroupReading(Enum):
    """How a caller reads a lone separator followed by exactly three digits, e.g. "1,234"."""

    THOUSANDS = "thousands"
    DECIMAL = "decimal"
    AMBIGUOUS = "ambiguous"


class NumberSyntaxError(ValueError):
    """Text that is not a number in the accepted grammar."""


class AmbiguousNumberError(NumberSyntaxError):
    """A number whose separator could be a decimal mark or a thousands separator."""


_SEPARATOR_FORMS = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'"})
_NUMBER_TEXT = re.compile(r"[0-9,.' ]*[0-9]")
_SIGNS = {"-": True, "\u2212": True, "+": False}
_MULTIPLIER = re.compile(r"^(?P<number>.*?[0-9])\s*(?P<suffix>k|mm|m|bn|b)$", re.IGNORECASE)
_MULTIPLIERS = {"k": Decimal(10**3), "m": Decimal(10**6), "mm": Decimal(10**6), "b": Decimal(10**9)}
_MULTIPLIERS["bn"] = _MULTIPLIERS["b"]


def _ungroup(text: str, separators: set[str]) -> str:
    """Remove thousands separators from an integer part, checking that the groups are well formed."""
    if not separators:
        return text
    if len(separators) > 1:
        raise NumberSyntaxError("mixed thousands separators")
    groups = text.split(separators.pop())
    head, tail = groups[0], groups[1:]
    western = 1 <= len(head) <= 3 and all(len(g) == 3 for g in tail)
    indian = 1 <= len(head) <= 2 and len(tail[-1]) == 3 and all(len(g) == 2 for g in tail[:-1])
    if not all(g.isdigit() for g in groups) or head.startswith("0") or not (western or indian):
        raise NumberSyntaxError("malformed digit groups")
    return "".join(groups)


def _lone_mark_is_decimal(int_part: str, frac: str) -> bool:
    """Return True when a single separator cannot be a thousands separator."""
    return len(frac) != 3 or not int_part or int_part.startswith("0") or len(int_part) > 3


def parse_unsigned(text: str, reading: GroupReading, decimal_mark: str | None = None) -> Decimal:
    """Parse digits with separators (no sign, currency or suffix) under the module's separator rule.

    A `decimal_mark` of "." or "," fixes the convention instead: the other of the two is then only a thousands
    separator.
    """
    text = text.translate(_SEPARATOR_FORMS)
    if not _NUMBER_TEXT.fullmatch(text):
        raise NumberSyntaxError("not a number")
    marks = [c for c in text if not c.isdigit()]
    if not marks:
        return Decimal(text)
    last = marks[-1]
    if last in ",." and marks.count(last) == 1 and decimal_mark in (None, last):
        int_part, _, frac = text.rpartition(last)
        others = set(marks[:-1])
        if others or decimal_mark or _lone_mark_is_decimal(int_part, frac) or reading is GroupReading.DECIMAL:
            return Decimal(f"{_ungroup(int_part, others) or '0'}.{frac}")
        if reading is GroupReading.THOUSANDS:
            return Decimal(int_part + frac)
        raise AmbiguousNumberError(f"{last!r} could be a decimal mark or a thousands separator")
    return Decimal(_ungroup(text, set(marks)))


def split_sign(text: str) -> tuple[bool, str]:
    """Split an optional leading sign off stripped text; return (negative, rest)."""
    text = text.strip()
    if text[:1] in _SIGNS:
        return _SIGNS[text[0]], text[1:].strip()
    return False, text


def split_multiplier(text: str) -> tuple[Decimal, str]:
    """Split a magnitude suffix (k, m/mm, b/bn) off a number; return (multiplier, rest)."""
    match = _MULTIPLIER.match(text)
    if not match:
        return Decimal(1), text
    return _MULTIPLIERS[match["suffix"].lower()], match["number"]


def finite_decimal(value: int | float | Decimal) -> Decimal:
    """Convert a number to Decimal (floats through str to avoid binary noise); reject NaN and infinities."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise NumberSyntaxError("not a number") from exc
    if not number.is_finite():
        raise NumberSyntaxError("not a finite number")
    return number


def normalize_int(value: object, *, field: str | None = None) -> int | None:
    """Normalise to int: "1,200" and "1.200" -> 1200, "12.0" -> 12, "3k" -> 3000; "12.5" is "not_integer".

    A lone separator followed by three digits is a thousands separator here, since an integer field cannot
    hold the decimal reading.
    """
    if is_null_like(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise NormalisationError(field, value, "invalid_integer", "expected an integer")
    try:
        if isinstance(value, str):
            negative, rest = split_sign(value)
            multiplier, digits = split_multiplier(rest)
            number = parse_unsigned(digits, GroupReading.THOUSANDS) * multiplier
            number = -number if negative else number
        else:
            number = finite_decimal(value)
    except NumberSyntaxError as exc:
        raise NormalisationError(field, value, "invalid_integer", str(exc)) from exc
    if number != number.to_integral_value():
        raise NormalisationError(field, value, "not_integer", "the value has a fractional part")
    return int(number)
