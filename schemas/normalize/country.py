"""Countries to ISO 3166-1 alpha-2: codes, numeric codes, pycountry's names and the common forms exports contain.

Matching is exact after a light key normalisation (case, accents, spaces, dots, apostrophes, commas, brackets,
"&" versus "and" and a leading "the" are ignored). There is no fuzzy matching: near-misses are "unknown_country".
"""

from __future__ import annotations

import re
import unicodedata

import pycountry

from schemas.normalize.errors import NormalisationError
from schemas.normalize.text import is_null_like

__all__ = ["COUNTRY_ALIASES", "normalize_country"]

#: Common forms real exports contain that pycountry does not list, -> alpha-2.
COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "United States of America": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Deutschland": "DE",
    "South Korea": "KR",
    "Republic of Korea": "KR",
    "North Korea": "KP",
    "Russia": "RU",
    "Czech Republic": "CZ",
    "Holland": "NL",
    "The Netherlands": "NL",
    "Nederland": "NL",
    "UAE": "AE",
    "U.A.E.": "AE",
    "Emirates": "AE",
    "Ivory Coast": "CI",
    "Vietnam": "VN",
    "Turkey": "TR",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Burma": "MM",
    "Cape Verde": "CV",
    "East Timor": "TL",
    "Vatican": "VA",
    "Vatican City": "VA",
    "Palestine": "PS",
    "Macau": "MO",
    "Republic of Ireland": "IE",
    "Eire": "IE",
    "PRC": "CN",
    "Mainland China": "CN",
    "KSA": "SA",
    "Brasil": "BR",
    "España": "ES",
    "Italia": "IT",
    "Österreich": "AT",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Svizzera": "CH",
    "Belgique": "BE",
    "België": "BE",
    "Sverige": "SE",
    "Norge": "NO",
    "Danmark": "DK",
    "Suomi": "FI",
    "Polska": "PL",
}

_DROPPED = re.compile(r"[.'\u2019]")
_SPACED = re.compile(r"[\s,()\-/]+")


def _key(text: str) -> str:
    """Return the comparison key of a country form: no accents or punctuation, case-folded, no leading "the"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    bare = _SPACED.sub(" ", _DROPPED.sub("", bare.replace("&", " and "))).strip()
    return bare.removeprefix("the ").replace(" ", "")


def _build_index() -> dict[str, str]:
    """Index every pycountry code and name plus the aliases; a key claimed by two countries is left out."""
    claims: dict[str, set[str]] = {}
    for country in pycountry.countries:
        forms = [country.alpha_2, country.alpha_3, country.numeric, str(int(country.numeric)), country.name]
        forms += [getattr(country, attr) for attr in ("official_name", "common_name") if hasattr(country, attr)]
        for form in forms:
            claims.setdefault(_key(form), set()).add(country.alpha_2)
    index = {key: codes.pop() for key, codes in claims.items() if len(codes) == 1}
    index.update({_key(alias): code for alias, code in COUNTRY_ALIASES.items()})
    return index


_INDEX = _build_index()


def normalize_country(value: object, *, field: str | None = None) -> str | None:
    """Normalise a country code, numeric code or name (case-insensitive) to its ISO 3166-1 alpha-2 code."""
    if is_null_like(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value_text = str(value)
    elif isinstance(value, str):
        value_text = value
    else:
        raise NormalisationError(field, value, "unknown_country", "expected a country code or name")
    code = _INDEX.get(_key(value_text))
    if code is None:
        raise NormalisationError(field, value, "unknown_country", f"{value_text.strip()!r} is not a known country")
    return code
