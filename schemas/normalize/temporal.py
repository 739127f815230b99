"""Datetimes to timezone-aware UTC and dates to calendar dates, from the forms CRM exports write.

Accepted, in this order:
- datetime and date objects;
- epoch numbers and all-digit strings: an absolute value of 1e11 or more is milliseconds, less is seconds, and
  the instant must lie in 1970-01-01 .. 2200-01-01 UTC ("datetime_out_of_range" otherwise); an eight-digit
  string is instead the ISO 8601 basic date "YYYYMMDD" (as epoch seconds it would fall in 1970-73);
- ISO 8601, including Salesforce's "2024-01-15T10:30:00.000+0000";
- "MM/DD/YYYY[ hh:mm[:ss][ AM|PM]]" (also with "-"), "DD.MM.YYYY[ HH:MM[:ss]]" and "YYYY/MM/DD[ time]", each
  optionally followed by "Z", "UTC", "GMT" or a "+hh:mm" offset;
- through python-dateutil, only text with an English month name, a day and a four-digit year and no other
  words than weekdays, AM/PM and UTC/GMT ("15 Jan 2024 10:30", "January 15, 2024 3:05 PM").
Slash and dash dates follow `dayfirst`: True day-first, False month-first, None (default) month-first as US
exports write them unless only the day-first reading is a valid date ("31/01/2024"). Dotted dates are always
day-first. Naive values are taken to be in `default_tz`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateutil_parser

from schemas.normalize.errors import NormalisationError
from schemas.normalize.text import is_null_like

__all__ = ["normalize_date", "normalize_datetime"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_LATEST_SECONDS = Decimal((_LATEST - _EPOCH) // timedelta(seconds=1))
_MILLISECONDS_FROM = Decimal("1e11")
_EPOCH_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_BASIC_ISO_DATE = re.compile(r"[0-9]{8}")
_TIME = (
    r"(?:[ T,]+(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?\s*(?P<tz>z|utc|gmt|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_NN = "[0-9]{1,2}"
_YYYY = "(?P<year>[0-9]{4})"
_NUMERIC_DATES = {
    "slash": re.compile(rf"(?P<a>{_NN})(?P<sep>[/-])(?P<b>{_NN})(?P=sep){_YYYY}{_TIME}", re.IGNORECASE),
    "dots": re.compile(rf"(?P<day>{_NN})\.(?P<month>{_NN})\.{_YYYY}{_TIME}", re.IGNORECASE),
    "ymd": re.compile(rf"{_YYYY}/(?P<month>{_NN})/(?P<day>{_NN}){_TIME}", re.IGNORECASE),
}
_MONTH_WORDS = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_OTHER_WORDS = frozenset(
    [
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "am",
        "pm",
        "a",
        "p",
        "m",
        "t",
        "z",
        "utc",
        "gmt",
        "of",
        "at",
        "on",
        "the",
        "st",
        "nd",
        "rd",
        "th",
    ]
)
_WORD = re.compile(r"[^\W\d_]+")
_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    """Return the tzinfo for an IANA zone name ("UTC" included)."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _unparseable(field: str | None, value: object, detail: str = "") -> NormalisationError:
    message = "not a recognised date or time" + (f": {detail}" if detail else "")
    return NormalisationError(field, value, "unparseable_datetime", message)


def _to_utc(moment: datetime, zone: tzinfo, field: str | None, value: object) -> datetime:
    """Attach `zone` to a naive datetime and convert to UTC."""
    aware = moment if moment.tzinfo is not None and moment.utcoffset() is not None else moment.replace(tzinfo=zone)
    try:
        return aware.astimezone(UTC)
    except OverflowError as exc:
        raise NormalisationError(field, value, "datetime_out_of_range", "outside the representable range") from exc


def _from_epoch(number: Decimal, field: str | None, value: object) -> datetime:
    """Read epoch seconds or (from 1e11 up) milliseconds."""
    seconds = number / 1000 if abs(number) >= _MILLISECONDS_FROM else number
    if not 0 <= seconds < _LATEST_SECONDS:
        message = "epoch values must lie in 1970-01-01 .. 2200-01-01 UTC"
        raise NormalisationError(field, value, "datetime_out_of_range", message)
    return _EPOCH + timedelta(microseconds=int(seconds * 1_000_000))


def _clock(match: re.Match[str]) -> tuple[int, int, int, int, tzinfo | None]:
    """Return (hour, minute, second, microsecond, tz) of the optional time part of a numeric date."""
    if match["hour"] is None:
        return 0, 0, 0, 0, None
    hour, minute = int(match["hour"]), int(match["minute"])
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError("12-hour clock hour out of range")
        hour = hour % 12 + (12 if match["ampm"][0].lower() == "p" else 0)
    second = int(match["second"] or 0)
    microsecond = int((match["fraction"] or "0").ljust(6, "0"))
    tz_text = (match["tz"] or "").lower()
    zone: tzinfo | None = None
    if tz_text in ("z", "utc", "gmt"):
        zone = UTC
    elif tz_text:
        digits = tz_text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        zone = timezone(-offset if tz_text[0] == "-" else offset)
    return hour, minute, second, microsecond, zone


def _numeric_date(text: str, dayfirst: bool | None) -> datetime | None:
    """Parse the explicit numeric forms (slash/dash, dotted, year-first); None when none matches."""
    for kind, pattern in _NUMERIC_DATES.items():
        match = pattern.fullmatch(text)
        if not match:
            continue
        year = int(match["year"])
        if kind == "slash":
            a, b = int(match["a"]), int(match["b"])
            first_day = dayfirst is True or (dayfirst is None and a > 12)
            day, month = (a, b) if first_day else (b, a)
        else:
            day, month = int(match["day"]), int(match["month"])
        hour, minute, second, microsecond, zone = _clock(match)
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)
    return None


def _worded_date(text: str) -> datetime | None:
    """Parse text with an English month name through dateutil, only when day, month and year are all given."""
    words = {w.casefold() for w in _WORD.findall(text)}
    if not words & _MONTH_WORDS or not words <= _MONTH_WORDS | _OTHER_WORDS or not _YEAR.search(text):
        return None
    first = dateutil_parser.parse(text, default=datetime(2000, 1, 1))
    second = dateutil_parser.parse(text, default=datetime(2001, 2, 2))
    if first.date() != second.date():
        raise ValueError("the text lacks a day, month or year")
    return first


def _parse_text(text: str, dayfirst: bool | None, field: str | None, value: object) -> datetime:
    """Parse a datetime string in the forms of the module docstring; naive results stay naive."""
    if _EPOCH_TEXT.fullmatch(text) and not _BASIC_ISO_DATE.fullmatch(text):
        return _from_epoch(Decimal(text), field, value)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = _numeric_date(text, dayfirst) or _worded_date(text)
    except (ValueError, OverflowError) as exc:
        raise _unparseable(field, value, str(exc)) from exc
    if parsed is None:
        raise _unparseable(field, value)
    return parsed


def normalize_datetime(
    value: object,
    *,
    default_tz: str | tzinfo = "UTC",
    dayfirst: bool | None = None,
    field: str | None = None,
) -> datetime | None:
    """Normalise to a timezone-aware UTC datetime; naive input is taken to be in `default_tz`.

    Raises ValueError (not NormalisationError) for an unknown `default_tz`: that is a configuration error.
    """
    zone = _zone(default_tz) if isinstance(default_tz, str) else default_tz
    if is_null_like(value):
        return None
    if isinstance(value, datetime):
        return _to_utc(value, zone, field, value)
    if isinstance(value, date):
        return _to_utc(datetime(value.year, value.month, value.day), zone, field, value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _unparseable(field, value, f"unsupported type {type(value).__name__}")
    if isinstance(value, str):
        return _to_utc(_parse_text(value.strip(), dayfirst, field, value), zone, field, value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise _unparseable(field, value) from exc
    if not number.is_finite():
        raise _unparseable(field, value, "not a finite number")
    return _from_epoch(number, field, value)


def normalize_date(value: object, *, dayfirst: bool | None = None, field: str | None = None) -> date | None:
    """Normalise to a calendar date: dates pass through, date-only text is that date, a datetime its UTC date."""
    if is_null_like(value):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    moment = normalize_datetime(value, dayfirst=dayfirst, field=field)
    return None if moment is None else moment.date()
