"""Phone numbers to E.164 where the country is known, using the phonenumbers library.

A number written with "+" (or given with a recognisable country) becomes E.164 ("+14155552671") when it is a
possible full number. Without "+" and without a usable country it is kept as its digits, not rejected; so is
a number that is not a possible full number for the given country (the country hint may be the company's, not
the phone's). An extension ("ext. 12", "x12", "#12") is kept as an RFC 3966 suffix ";ext=12". Rejected as
"invalid_phone": letters other than extension markers, "+" numbers that are not possible numbers, fewer than
5 or more than 15 digits.
"""

from __future__ import annotations

import re

import phonenumbers

from schemas.normalize.country import normalize_country
from schemas.normalize.errors import NormalisationError
from schemas.normalize.text import is_null_like

__all__ = ["normalize_phone"]

_MIN_DIGITS = 5
_MAX_DIGITS = 15
_EXTENSION = re.compile(r"\s*(?:;\s*ext=|ext\.?|extension|x|#)\s*([0-9]{1,10})\s*$", re.IGNORECASE)
_PHONE_TEXT = re.compile(r"\+?[0-9\-.()/ ]*[0-9][0-9\-.()/ ]*")


def _region(country: str | None) -> str | None:
    """Return the phonenumbers region for a country in any form normalize_country accepts, else None."""
    try:
        region = normalize_country(country)
    except NormalisationError:
        return None
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def _e164(text: str, region: str | None) -> str | None:
    """Return the E.164 form of a full number, or None when it does not parse as one."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: object, *, country: str | None = None, field: str | None = None) -> str | None:
    """Normalise a phone number: E.164 where the country is known (or "+" given), else its cleaned digits."""
    if is_null_like(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise NormalisationError(field, value, "invalid_phone", "expected phone text")
    text = str(value).strip()
    extension = _EXTENSION.search(text)
    main = text[: extension.start()].strip() if extension else text
    suffix = f";ext={extension.group(1)}" if extension else ""
    if not _PHONE_TEXT.fullmatch(main):
        raise NormalisationError(field, value, "invalid_phone", "only digits, +, spaces and - . ( ) / are allowed")
    digits = re.sub(r"[^0-9]", "", main)
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        message = f"a phone number has {_MIN_DIGITS} to {_MAX_DIGITS} digits, not {len(digits)}"
        raise NormalisationError(field, value, "invalid_phone", message)
    international = main.startswith("+")
    region = _region(country)
    if international or region:
        e164 = _e164(main, None if international else region)
        if e164:
            return e164 + suffix
        if international:
            raise NormalisationError(field, value, "invalid_phone", "not a possible international number")
    return digits + suffix
