"""Pure value normalisers that turn what CRM exports contain into canonical values, or a NormalisationError.

Every normaliser takes the raw `value` and a keyword `field` (used only in errors), returns the normalised value,
returns None for null-like input (None, or a string in NULL_LIKE: "", "null", "none", "nil", "n/a", "#n/a", "-",
compared stripped and case-insensitively) and raises NormalisationError(field, value, reason) otherwise. The
ambiguity rules of each value kind are documented in its module.
"""

from schemas.normalize.country import COUNTRY_ALIASES, normalize_country
from schemas.normalize.errors import NormalisationError
from schemas.normalize.internet import normalize_email, normalize_website
from schemas.normalize.money import (
    CURRENCY_SYMBOLS,
    DecimalMark,
    normalize_currency_code,
    normalize_money,
    parse_money_with_currency,
)
from schemas.normalize.numeric import normalize_int
from schemas.normalize.percent import PercentRule, normalize_percent
from schemas.normalize.phone import normalize_phone
from schemas.normalize.registry import DEFAULT_NORMALISER, NORMALISERS
from schemas.normalize.temporal import normalize_date, normalize_datetime
from schemas.normalize.text import NULL_LIKE, is_null_like, normalize_status, normalize_str

__all__ = [
    "COUNTRY_ALIASES",
    "CURRENCY_SYMBOLS",
    "DEFAULT_NORMALISER",
    "NORMALISERS",
    "NULL_LIKE",
    "DecimalMark",
    "NormalisationError",
    "PercentRule",
    "is_null_like",
    "normalize_country",
    "normalize_currency_code",
    "normalize_date",
    "normalize_datetime",
    "normalize_email",
    "normalize_int",
    "normalize_money",
    "normalize_percent",
    "normalize_phone",
    "normalize_status",
    "normalize_str",
    "normalize_website",
    "parse_money_with_currency",
]
