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


def _phone_path() -> FastPath:
    """International numbers written as "+", digits and single spaces: E.164 when phonenumbers finds them possible.

    phonenumbers.parse takes the shortest known country calling code after "+"; when the national number does not
    start with the region's national prefix, `is_possible_number` reduces to its length being one of the region's
    possible lengths (local-only lengths are not possible), and E.164 is "+" and the digits. Numbers that start
    with a national prefix, have an unknown code or a region without length data are left to phonenumbers itself.

    Every per-code fact is one subscript of a constant list: the code's key (10, 100 or 1000 plus its value, by its
    number of digits) indexes its possible national lengths as a bit mask and its national prefix pattern's number,
    so a value costs a few array reads and at most one regular expression instead of long IN lists.
    """
    codes, possible, prefixes = _phone_metadata()
    detect = " ".join(
        f"WHEN {_flags({int(c) for c in codes[n]}, 10**n)}[left({{x_d}}, {n})::INTEGER + 1] = 1 "
        f"THEN {10**n} + left({{x_d}}, {n})::INTEGER"
        for n in (1, 2, 3)
        if codes[n]
    )
    masks = {_code_key(code): sum(1 << n for n in lengths) for code, lengths in possible}
    patterns = sorted(set(prefixes.values()))
    groups = {_code_key(code): patterns.index(pattern) + 1 for code, pattern in prefixes.items()}
    prefix = " ".join(
        f"WHEN {g} THEN regexp_matches({{x_nsn}}, '^(?:{_escape(pattern)})')" for g, pattern in enumerate(patterns, 1)
    )
    return FastPath(
        helpers=(
            ("d", "CASE WHEN regexp_full_match({x}, '\\+[0-9]+( [0-9]+)*') THEN substr(replace({x}, ' ', ''), 2) END"),
            ("k", f"CASE {detect} END"),
            ("nsn", "substr({x_d}, CASE WHEN {x_k} < 100 THEN 2 WHEN {x_k} < 1000 THEN 3 ELSE 4 END)"),
            ("mask", f"{_int_list(masks)}[{{x_k}}]"),
            ("prefix", f"{_int_list(groups)}[{{x_k}}]"),
        ),
        handled=(
            "CASE WHEN {x_d} IS NOT NULL AND length({x_d}) BETWEEN 5 AND 15 AND {x_mask} IS NOT NULL "
            f"THEN NOT (CASE {{x_prefix}} {prefix} ELSE FALSE END) ELSE FALSE END"
        ),
        value="CASE WHEN length({x_nsn}) < 31 AND ({x_mask} >> length({x_nsn})) & 1 = 1 THEN '+' || {x_d} END",
        reason="invalid_phone",
        message="not a possible international number",
    )


def _code_key(code: str) -> int:
    """A calling code's key: 10, 100 or 1000 (by its number of digits) plus its value; codes never start with 0."""
    return 10 ** len(code) + int(code)


def _flags(members: set[int], size: int) -> str:
    """A constant list of size 0/1 flags: position i + 1 is 1 when i is a member."""
    return "([" + ", ".join("1" if i in members else "0" for i in range(size)) + "])"


def _int_list(values: dict[int, int]) -> str:
    """A constant INTEGER list whose position i holds values[i] (NULL elsewhere), up to the largest key."""
    items = ", ".join(str(values[i]) if i in values else "NULL" for i in range(1, max(values) + 1))
    return f"([{items}]::INTEGER[])"


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


#: a plain ASCII host (optional http(s):// and trailing "/") without its scheme, else NULL: "://" can only be the
#: scheme's, as the host's characters exclude ":" and "/"
_BARE = (
    "CASE WHEN regexp_full_match({x}, '([hH][tT][tT][pP][sS]?://)?[A-Za-z0-9.-]+/?') "
    "THEN CASE WHEN strpos({x}, '://') > 0 THEN substr({x}, strpos({x}, '://') + 3) ELSE {x} END END"
)
#: the host lower-cased, one trailing "/", ".", or "./" dropped
_HOST = (
    "lower(CASE WHEN suffix({x_bare}, '/') OR suffix({x_bare}, '.') "
    "THEN regexp_replace({x_bare}, '[.]?/?$', '') ELSE {x_bare} END)"
)
#: the host without its leading "www." labels
_APEX = "CASE WHEN prefix({x_host}, 'www.') THEN regexp_replace({x_host}, '^(www[.])+', '') ELSE {x_host} END"
#: two or more dot-separated labels of letters, digits and inner hyphens...
_LABELS = "regexp_full_match({x_host}, '[a-z0-9]([a-z0-9-]*[a-z0-9])?([.][a-z0-9]([a-z0-9-]*[a-z0-9])?)+')"
#: ...each at most 63 characters long (checked apart: a bounded repetition inside the labels' regular expression
#: makes it several times slower)
_SHORT_LABELS = "length({x_host}) < 64 OR NOT regexp_matches({x_host}, '[a-z0-9-]{{64}}')"
_WEBSITE = "CASE WHEN strpos({x_apex}, '.') > 0 THEN {x_apex} ELSE 'www.' || {x_apex} END"

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
        helpers=(
            (
                "ts",
                "CASE WHEN regexp_full_match({x}, '(19|20|21)[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}[T ]([01][0-9]|2[0-3]):"
                "[0-5][0-9]:[0-5][0-9]([.][0-9]{{1,6}})?(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)?') "
                "THEN TRY_CAST(CASE WHEN regexp_matches({x}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') THEN {x} "
                "ELSE {x} || '+00:00' END AS TIMESTAMPTZ) END",
            ),
        ),
        handled="{x_ts} IS NOT NULL",
        value="{x_ts}",
    ),
    "date": FastPath(
        handled="(regexp_full_match({x}, '(19|20|21)[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}') "
        "AND TRY_CAST({x} AS DATE) IS NOT NULL)",
        value="TRY_CAST({x} AS DATE)",
    ),
    # a plain ASCII host, optionally with http(s):// and a trailing "/": lower-cased, leading www. labels dropped
    "website": FastPath(
        helpers=(
            ("bare", _BARE),
            ("host", _HOST),
            ("apex", _APEX),
            ("domain", f"CASE WHEN {_LABELS} THEN CASE WHEN {_SHORT_LABELS} THEN {_WEBSITE} END END"),
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
