"""Examples for datetimes and dates: explicit formats, epochs, time zones and the day-first rule."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schemas.normalize import NormalisationError, normalize_date, normalize_datetime

JAN15 = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-15T10:30:00.000+0000",
        "2024-01-15T10:30:00Z",
        "2024-01-15T11:30:00+01:00",
        "2024-01-15 10:30",
        "01/15/2024 10:30 AM",
        "1/15/2024 10:30 am",
        "01/15/2024 10:30",
        "01-15-2024 10:30:00",
        "15.01.2024 10:30",
        "2024/01/15 10:30",
        "01/15/2024 12:30 PM +02:00",
        "15 Jan 2024 10:30",
        "January 15, 2024 10:30 AM",
        "Mon, 15 Jan 2024 10:30:00 GMT",
        1705314600,
        1705314600000,
        1705314600.0,
        "1705314600",
        "1705314600000",
        datetime(2024, 1, 15, 10, 30),
        datetime(2024, 1, 15, 5, 30, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_forms_of_one_instant(value: object) -> None:
    assert normalize_datetime(value) == JAN15
    assert normalize_datetime(value).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01/15/2024", datetime(2024, 1, 15, tzinfo=UTC)),
        ("15.01.2024", datetime(2024, 1, 15, tzinfo=UTC)),
        ("20240115", datetime(2024, 1, 15, tzinfo=UTC)),
        (date(2024, 1, 15), datetime(2024, 1, 15, tzinfo=UTC)),
        ("01/15/2024 12:00 AM", datetime(2024, 1, 15, 0, 0, tzinfo=UTC)),
        ("01/15/2024 12:00 PM", datetime(2024, 1, 15, 12, 0, tzinfo=UTC)),
        ("1705314600.25", datetime(2024, 1, 15, 10, 30, 0, 250000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_normalize_datetime(value: object, expected: datetime) -> None:
    assert normalize_datetime(value) == expected


def test_naive_values_are_in_the_default_zone() -> None:
    berlin = normalize_datetime("2024-01-15 11:30", default_tz="Europe/Berlin")
    assert berlin == JAN15
    assert normalize_datetime(datetime(2024, 1, 15, 11, 30), default_tz=ZoneInfo("Europe/Berlin")) == JAN15
    assert normalize_datetime("2024-01-15T10:30:00Z", default_tz="Europe/Berlin") == JAN15
    with pytest.raises(ValueError, match="time zone"):
        normalize_datetime("2024-01-15", default_tz="Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "dayfirst", "expected"),
    [
        ("03/04/2024", None, date(2024, 3, 4)),
        ("03/04/2024", False, date(2024, 3, 4)),
        ("03/04/2024", True, date(2024, 4, 3)),
        ("31/01/2024", None, date(2024, 1, 31)),
        ("31/01/2024", True, date(2024, 1, 31)),
        ("04.03.2024", False, date(2024, 3, 4)),
    ],
)
def test_dayfirst_rule(value: str, dayfirst: bool | None, expected: date) -> None:
    assert normalize_date(value, dayfirst=dayfirst) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31/01/2024", "unparseable_datetime"),
        ("tomorrow", "unparseable_datetime"),
        ("Jan 2024", "unparseable_datetime"),
        ("15 Jan", "unparseable_datetime"),
        ("15 Jan 2024 EST", "unparseable_datetime"),
        ("02/30/2024", "unparseable_datetime"),
        ("13/13/2024", "unparseable_datetime"),
        ("01/15/2024 13:00 PM", "unparseable_datetime"),
        ("2024-13-01", "unparseable_datetime"),
        ("99999999999", "datetime_out_of_range"),
        ("-1", "datetime_out_of_range"),
        (7258118400, "datetime_out_of_range"),
        (10**14, "datetime_out_of_range"),
        (float("nan"), "unparseable_datetime"),
        (True, "unparseable_datetime"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "datetime_out_of_range"),
    ],
)
def test_normalize_datetime_rejects(value: object, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_datetime(value, dayfirst=False, field="created_at")
    assert (caught.value.reason, caught.value.field) == (reason, "created_at")


def test_epoch_range_ends_before_2200() -> None:
    assert normalize_datetime(7258118399) == datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert normalize_datetime(7258118399000) == datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15", date(2024, 1, 15)),
        ("01/15/2024", date(2024, 1, 15)),
        ("15.01.2024", date(2024, 1, 15)),
        (date(2024, 1, 15), date(2024, 1, 15)),
        ("2024-01-15T23:30:00-05:00", date(2024, 1, 16)),
        (datetime(2024, 1, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5))), date(2024, 1, 16)),
        (1705314600000, date(2024, 1, 15)),
        ("", None),
    ],
)
def test_normalize_date(value: object, expected: date | None) -> None:
    assert normalize_date(value) == expected
