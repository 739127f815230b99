"""SQL fast paths of the value normalisers: the inputs they accept convert in DuckDB exactly as in Python.

Each fast path names the values it decides (`handled`), the converted value, and for phone numbers the values it
rejects. Everything a fast path does not decide goes through the Python normaliser (once per distinct value), so a
fast path only ever has to be right on its own narrow, common shape; tests/pipeline/canonical/test_fast_sql.py checks
each against its Python normaliser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, region_code_for_country_code


@dataclass(frozen=True)
class FastPath:
    """SQL templates over `{x}` (the raw VARCHAR): which values the path decides, and their converted value.

    A handled value whose `value` is NULL is rejected with `reason` / `message` (as the Python normaliser would).
    """

    handled: str
    value: str
    reason: str | None = None
    message: str | None = None
    #: helper columns computed first, in order, as (name, template); templates refer to them as {x_<name>}
    helpers: tuple[tuple[str, str], ...] = ()


def _sql_list(items: list[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def _phone_path() -> FastPath:
    """International numbers written as "+", digits and single spaces: E.164 when phonenumbers finds them possible.

    phonenumbers.parse takes the shortest known country calling code after "+"; when the national number does not
    start with the region's national prefix, `is_possible_number` reduces to its length being one of the region's
    possible lengths (local-only lengths are not possible), and E.164 is "+" and the digits. Numbers that start
    with a national prefix, have an unknown code or a region without length data are left to phonenumbers itself.
    """
    codes, possible, prefixes = _phone_metadata()
    cc = "CASE " + " ".join(
        f"WHEN left({{x_d}}, {n}) IN ({_sql_list(codes[n])}) THEN left({{x_d}}, {n})" for n in (1, 2, 3) if codes[n]
    )
    by_pattern: dict[str, list[str]] = {}
    for code, pattern in prefixes.items():
        by_pattern.setdefault(pattern, []).append(code)
    prefix = " ".join(
        f"WHEN {{x_cc}} IN ({_sql_list(sorted(group))}) THEN regexp_matches({{x_nsn}}, '^(?:{_escape(pattern)})')"
        for pattern, group in sorted(by_pattern.items())
    )
    by_length: dict[int, list[str]] = {}
    for code, lengths in possible:
        for length in lengths:
            by_length.setdefault(length, []).append(code)
    is_possible = "CASE length({x_nsn}) " + " ".join(
        f"WHEN {length} THEN {{x_cc}} IN ({_sql_list(sorted(group))})" for length, group in sorted(by_length.items())
    )
    return FastPath(
        helpers=(
            ("d", "CASE WHEN regexp_full_match({x}, '\\+[0-9]+( [0-9]+)*') THEN substr(replace({x}, ' ', ''), 2) END"),
            ("cc", cc + " END"),
            ("nsn", "substr({x_d}, length({x_cc}) + 1)"),
        ),
        handled=(
            "({x_d} IS NOT NULL AND length({x_d}) BETWEEN 5 AND 15 "
            f"AND {{x_cc}} IN ({_sql_list(sorted(c for c, _ in possible))}) AND NOT (CASE {prefix} ELSE FALSE END))"
        ),
        value=f"CASE WHEN {is_possible} ELSE FALSE END THEN '+' || {{x_d}} END",
        reason="invalid_phone",
        message="not a possible international number",
    )


def _escape(pattern: str) -> str:
    """A regular expression as the body of a SQL string literal inside a template (quotes and braces escaped)."""
    return pattern.replace("'", "''").replace("{", "{{").replace("}", "}}")


@cache
def _phone_metadata() -> tuple[dict[int, list[str]], list[tuple[str, tuple[int, ...]]], dict[str, str]]:
    """Calling codes by length, possible national lengths per code, and national prefix patterns per code."""
    codes: dict[int, list[str]] = {1: [], 2: [], 3: []}
    possible: list[tuple[str, tuple[int, ...]]] = []
    prefixes: dict[str, str] = {}
    for code in sorted(COUNTRY_CODE_TO_REGION_CODE):
        text = str(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region_code_for_country_code(code))
        codes[len(text)].append(text)  # every code: phonenumbers takes the shortest known one
        general = metadata.general_desc if metadata is not None else None
        lengths = tuple(n for n in general.possible_length if n > 0) if general is not None else ()
        if metadata is None or not lengths:
            continue  # left to phonenumbers
        possible.append((text, lengths))
        if metadata.national_prefix_for_parsing:
            prefixes[text] = metadata.national_prefix_for_parsing
    return codes, possible, prefixes


_LABEL = "[a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?"
#: lower-cased host of a plain ASCII host (optional http(s):// and trailing "/"), else NULL
_HOST = (
    "CASE WHEN regexp_full_match({x}, '([hH][tT][tT][pP][sS]?://)?[A-Za-z0-9.-]+/?') "
    "THEN lower(regexp_replace(regexp_replace({x}, '^[hH][tT][tT][pP][sS]?://', ''), '[.]?/?$', '')) END"
)
_DOMAIN = "regexp_replace({x_host}, '^(www[.])+', '')"
_WEBSITE = f"CASE WHEN strpos({_DOMAIN}, '.') > 0 THEN {_DOMAIN} ELSE 'www.' || {_DOMAIN} END"

#: normaliser name -> its fast path.
FAST_PATHS: dict[str, FastPath] = {
    "int": FastPath(
        handled="regexp_full_match(trim({x}), '[+-]?[0-9]{{1,18}}')",
        value="TRY_CAST(trim({x}) AS BIGINT)",
    ),
    "money": FastPath(
        handled="regexp_full_match(trim({x}), '-?[0-9]{{1,19}}([.][0-9]{{1,4}})?')",
        value="TRY_CAST(trim({x}) AS DECIMAL(24,4))",
    ),
    # ISO 8601 with seconds (T or space), as exports, APIs and databases write it; naive means UTC (the default zone)
    "datetime": FastPath(
        handled="(regexp_full_match({x}, '(19|20|21)[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}[T ]([01][0-9]|2[0-3]):[0-5][0-9]:"
        "[0-5][0-9]([.][0-9]{{1,6}})?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)?') "
        "AND TRY_CAST(CASE WHEN regexp_matches({x}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') THEN {x} "
        "ELSE {x} || '+00:00' END AS TIMESTAMPTZ) IS NOT NULL)",
        value="TRY_CAST(CASE WHEN regexp_matches({x}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') THEN {x} "
        "ELSE {x} || '+00:00' END AS TIMESTAMPTZ)",
    ),
    "date": FastPath(
        handled="(regexp_full_match({x}, '(19|20|21)[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}') "
        "AND TRY_CAST({x} AS DATE) IS NOT NULL)",
        value="TRY_CAST({x} AS DATE)",
    ),
    # a plain ASCII host, optionally with http(s):// and a trailing "/": lower-cased, leading www. labels dropped
    "website": FastPath(
        helpers=(
            ("host", _HOST),
            ("domain", f"CASE WHEN regexp_full_match({{x_host}}, '{_LABEL}([.]{_LABEL})+') THEN {_WEBSITE} END"),
        ),
        handled="({x_domain} IS NOT NULL AND NOT regexp_matches({x_domain}, '[.][0-9]+$') "
        "AND length({x_domain}) <= 253)",
        value="{x_domain}",
    ),
}


@cache
def fast_path(normaliser: str) -> FastPath | None:
    """The fast path of a normaliser, or None when every value goes through Python."""
    if normaliser == "phone":
        return _phone_path()
    return FAST_PATHS.get(normaliser)


def render(template: str, column: str) -> str:
    """Fill a fast-path template: {x} is the raw value's column, {x_<name>} the column of helper <name>."""
    unescaped = template.replace("{{", "{").replace("}}", "}")
    return re.sub(r"\{x(_[a-z]+)?\}", lambda m: f'"{column}{m.group(1) or ""}"', unescaped)
