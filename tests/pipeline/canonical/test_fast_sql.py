"""Every SQL fast path decides its values exactly as the Python normaliser would (same value, same rejection)."""

from __future__ import annotations

import random
from collections.abc import Callable

import duckdb
import pytest
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from autonomos_pipeline.dcl.fast_sql import fast_path, render
from schemas.normalize import NORMALISERS, NormalisationError

RNG = random.Random(20261125)
CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)


def _digits(n: int) -> str:
    return "".join(str(RNG.randrange(10)) for _ in range(n))


def phones(n: int) -> list[str]:
    """International numbers of every calling code (and some unknown ones), random lengths, random spacing."""
    out = ["+1 415 555 2671", "+44 20 7946 0958", "+33 1 23 45 67 89", "+65 6123 4567", "+33 01 23 45 67 89"]
    out += ["+1 1415 555 2671", "+7 8 495 123 45 67", "+0 123 4567", "+999 1234567", "+39 06 1234 5678", "+1  415 5"]
    for _ in range(n):
        code = str(RNG.choice(CODES)) if RNG.random() < 0.9 else str(RNG.randrange(1, 999))
        number = "+" + code + _digits(RNG.randrange(1, 14))
        out.append(
            "".join(c + (" " if 0 < i < len(number) - 1 and RNG.random() < 0.2 else "") for i, c in enumerate(number))
        )
    return out


def websites(n: int) -> list[str]:
    """Hosts built from valid and invalid labels, with and without schemes, trailing dots and paths."""
    labels = ["www", "WWW", "foo", "bar-1", "x", "a-", "-b", "123", "co", "com", "uk", "9", "abc123", "ww", "Ünï"]
    out = ["www.acme.com", "https://WWW.Acme.com/", "www.www.com", "www.com", "acme.com.", "acme.com..", "1.2.3.4"]
    for _ in range(n):
        host = ".".join(RNG.choice(labels) for _ in range(RNG.randrange(1, 5)))
        if RNG.random() < 0.3:
            host = RNG.choice(["http://", "https://", "HTTP://", "ftp://", "//"]) + host
        if RNG.random() < 0.2:
            host += RNG.choice(["/", ".", "./", "/x", " ", ":80"])
        out.append(host)
    return out


def datetimes(n: int) -> list[str]:
    """ISO-looking timestamps with out-of-range parts, fractions of 1-7 digits and assorted offsets."""
    out = [
        "2024-01-15T10:30:00.000Z",
        "2024-01-15T10:30:00",
        "2024-02-30T10:30:00Z",
        "2024-01-15T24:00:00",
        "2016-08-06 23:43:28+00",
    ]
    for _ in range(n):
        text = (
            f"{RNG.choice([1899, 1970, 2019, 2024, 2199, 2200]):04d}-{RNG.randrange(0, 14):02d}-"
            f"{RNG.randrange(0, 32):02d}{RNG.choice('T ')}{RNG.randrange(0, 25):02d}:"
            f"{RNG.randrange(0, 61):02d}:{RNG.randrange(0, 61):02d}"
        )
        if RNG.random() < 0.5:
            text += "." + _digits(RNG.randrange(1, 8))
        out.append(
            text + RNG.choice(["", "Z", "+02:00", "-05:30", "+0000", "+14:00", "-23:59", "+00", "-05", "+0530", "+2"])
        )
    return out


def dates(n: int) -> list[str]:
    """ISO dates, some impossible."""
    return [
        f"{RNG.choice([1899, 2019, 2024, 2199])}-{RNG.randrange(0, 14):02d}-{RNG.randrange(0, 32):02d}"
        for _ in range(n)
    ]


def numbers(n: int) -> list[str]:
    """Integers and decimals of every length, signed, padded, with fractions."""
    out = []
    for _ in range(n):
        body = str(RNG.randrange(10**21))[: RNG.randrange(1, 22)]
        out.append(RNG.choice(["", "+", "-", " "]) + body + RNG.choice(["", " ", ".0", ".12345", ".5"]))
    return out


CASES: dict[str, Callable[[int], list[str]]] = {
    "phone": phones,
    "website": websites,
    "datetime": datetimes,
    "date": dates,
    "int": numbers,
    "money": numbers,
}


@pytest.mark.parametrize("normaliser", sorted(CASES))
def test_fast_path_agrees_with_the_python_normaliser(normaliser: str) -> None:
    values = CASES[normaliser](4_000)
    path = fast_path(normaliser)
    assert path is not None
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS x", [values])
    source = "t"
    for name, template in path.helpers:
        source = f'(SELECT *, {render(template, "x")} AS "x_{name}" FROM {source})'
    handled = render(path.handled, "x")
    rows = con.execute(
        f"SELECT x, coalesce({handled}, FALSE), CASE WHEN {handled} THEN {render(path.value, 'x')} END FROM {source}"
    ).fetchall()
    decided = 0
    for raw, is_handled, value in rows:
        if not is_handled:
            continue
        decided += 1
        try:
            expected, reason = NORMALISERS[normaliser](raw, field="f"), None
        except NormalisationError as exc:
            expected, reason = None, exc.reason
        if value is None:
            assert reason is not None and reason == path.reason, f"{raw!r}: SQL rejects, Python gives {expected!r}"
        else:
            assert reason is None and expected == value, f"{raw!r}: SQL {value!r}, Python {expected!r} / {reason}"
    assert decided > len(values) // 5, "the fast path should decide a good share of these inputs"
