"""Property-based tests: round-trips, idempotence, and that arbitrary text only ever raises NormalisationError."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pycountry
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains as hypothesis_domains

from schemas.normalize import (
    NORMALISERS,
    NormalisationError,
    PercentRule,
    normalize_country,
    normalize_date,
    normalize_datetime,
    normalize_email,
    normalize_int,
    normalize_money,
    normalize_percent,
    normalize_phone,
    normalize_website,
    parse_money_with_currency,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

money_decimals = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False, allow_infinity=False
)
instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.timezones())


@FAST
@given(money_decimals)
def test_dollar_formatted_amounts_parse_back(amount: Decimal) -> None:
    assert parse_money_with_currency("$" + f"{amount:,.2f}") == (amount, "USD")


@FAST
@given(money_decimals)
def test_european_formatted_amounts_parse_back(amount: Decimal) -> None:
    us = f"{amount:,.2f}"
    european = us.replace(",", " ").replace(".", ",")
    assert normalize_money(european + " EUR") == amount
    assert normalize_money(us.replace(",", "_").replace(".", ",").replace("_", ".") + " €") == amount


@FAST
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grouped_integers_parse_back(number: int) -> None:
    assert normalize_int(f"{number:,}") == number
    assert normalize_money(f"USD {number:,}") == number


@FAST
@given(instants)
def test_isoformat_round_trips_to_the_same_utc_instant(moment: datetime) -> None:
    offset = moment.utcoffset()
    assert offset is not None
    # Built by hand: comparing zone-aware datetimes that fall in a DST gap or fold is never equal (PEP 495).
    instant = (moment.replace(tzinfo=None) - offset).replace(tzinfo=UTC)
    result = normalize_datetime(moment.isoformat())
    assert result == instant
    assert result is not None and result.tzinfo is UTC
    assert normalize_date(moment.isoformat()) == instant.date()


@FAST
@given(st.integers(min_value=10**8, max_value=7258118399), st.integers(min_value=0, max_value=999))
def test_epoch_seconds_and_milliseconds_agree(seconds: int, millis: int) -> None:
    """From 1973-03-03 (1e8 s, the first instant whose milliseconds reach 1e11) both units give one instant."""
    from_seconds = normalize_datetime(seconds)
    assert from_seconds == normalize_datetime(seconds * 1000) == normalize_datetime(str(seconds * 1000))
    assert from_seconds == normalize_datetime(str(seconds)) == normalize_datetime(float(seconds))
    with_millis = normalize_datetime(seconds * 1000 + millis)
    assert with_millis == from_seconds + timedelta(milliseconds=millis)  # type: ignore[operator]
    assert normalize_datetime(seconds + Decimal(millis) / 1000) == with_millis


COUNTRIES = list(pycountry.countries)


@FAST
@given(st.sampled_from(COUNTRIES), st.sampled_from([str.upper, str.lower, str.title, lambda s: f"  {s} "]))
def test_pycountry_codes_and_names_normalise_to_alpha_2(country: object, case: Callable[[str], str]) -> None:
    expected = country.alpha_2  # type: ignore[attr-defined]
    forms = [country.alpha_2, country.alpha_3, country.name, country.numeric]  # type: ignore[attr-defined]
    for form in forms:
        assert normalize_country(case(form)) == expected, form


domains = hypothesis_domains(max_length=100)
url_parts = st.tuples(
    st.sampled_from(["", "http://", "HTTPS://", "//", "https://user:pw@"]),
    st.sampled_from(["", "www.", "WWW."]),
    domains,
    st.sampled_from(["", "/", ":8080", "/a/b?x=1#f", "."]),
)


def _bare(domain: str) -> str:
    labels = domain.lower().split(".")
    while labels[0] == "www" and len(labels) > 2:
        labels.pop(0)
    return ".".join(labels)


@FAST
@given(st.one_of(url_parts.map("".join), st.text(max_size=40)))
def test_website_normalisation_is_idempotent_and_lower_case(value: str) -> None:
    try:
        domain = normalize_website(value)
    except NormalisationError:
        return
    assert domain is None or (domain == domain.lower() and normalize_website(domain) == domain)


@FAST
@given(url_parts)
def test_generated_urls_normalise_to_their_bare_domain(parts: tuple[str, str, str, str]) -> None:
    assert normalize_website("".join(parts)) == _bare(parts[1] + parts[2])


@FAST
@given(st.emails())
def test_email_normalisation_is_idempotent(value: str) -> None:
    try:
        email = normalize_email(value)
    except NormalisationError:
        assume(False)
        return
    assert email is not None and email == email.lower()
    assert normalize_email(email) == email
    assert normalize_email(value.upper()) == email


def _everything() -> dict[str, Callable[..., object]]:
    extra: dict[str, Callable[..., object]] = {
        "phone_us": partial(normalize_phone, country="US"),
        "phone_de": partial(normalize_phone, country="Germany"),
        "percent_fraction": partial(normalize_percent, rule=PercentRule.FRACTION),
        "money_comma": partial(normalize_money, decimal_mark=","),
        "datetime_dayfirst": partial(normalize_datetime, dayfirst=True, default_tz="America/New_York"),
        "money_with_currency": parse_money_with_currency,
    }
    return {**NORMALISERS, **extra}


EVERYTHING = _everything()
messy_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 ,.'-+()$€£¥%:/kKmMTZ@#xX", max_size=25),
)


@pytest.mark.parametrize("name", sorted(EVERYTHING))
@settings(max_examples=120, deadline=None)
@given(value=messy_text)
def test_arbitrary_text_only_raises_normalisation_errors(name: str, value: str) -> None:
    try:
        EVERYTHING[name](value, field=name)
    except NormalisationError as error:
        assert error.field == name
        assert error.reason and error.reason == error.reason.lower()
        assert json.loads(json.dumps(error.as_dict())) == error.as_dict()


@FAST
@given(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.binary(), st.lists(st.integers()))
)
def test_arbitrary_non_text_only_raises_normalisation_errors(value: object) -> None:
    for name, normaliser in EVERYTHING.items():
        try:
            normaliser(value, field=name)
        except NormalisationError as error:
            assert json.dumps(error.as_dict())


@FAST
@given(st.decimals(min_value=0, max_value=1, places=4), st.decimals(min_value=0, max_value=100, places=2))
def test_percent_rules_agree_on_the_same_quantity(fraction: Decimal, points: Decimal) -> None:
    assert normalize_percent(str(fraction), rule=PercentRule.FRACTION) == fraction * 100
    assert normalize_percent(f"{fraction * 100}%", rule=PercentRule.AUTO) == fraction * 100
    assert normalize_percent(str(points), rule=PercentRule.PERCENT) == points
