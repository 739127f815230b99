"""Examples for websites, e-mail addresses, phone numbers and countries."""

import pytest

from schemas.normalize import (
    NormalisationError,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_website,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://WWW.Acme.com/about?x=1", "acme.com"),
        ("acme.co.uk", "acme.co.uk"),
        ("http://sub.acme.io:8080", "sub.acme.io"),
        ("HTTP://user:secret@www.acme.com/", "acme.com"),
        ("www.acme.com.", "acme.com"),
        ("//acme.com#team", "acme.com"),
        ("acme.com/path?q=1#frag", "acme.com"),
        ("www.www.acme.com", "acme.com"),
        ("www.com", "www.com"),
        ("MÜNCHEN.de", "münchen.de"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("  Acme.COM  ", "acme.com"),
    ],
)
def test_normalize_website(value: str, expected: str) -> None:
    assert normalize_website(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "acme",
        "localhost:8080",
        "acme corp.com",
        "192.168.0.1",
        "a_b.com",
        "-acme.com",
        "acme..com",
        "http://[::1]/",
        "acme.com:http",
        "http:\\\\acme.com",
        "a" * 64 + ".com",
        42,
    ],
)
def test_normalize_website_rejects(value: object) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_website(value, field="website")
    assert caught.value.reason == "invalid_website"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("John.Doe@Example.COM", "john.doe@example.com"),
        ("  jane@acme.io ", "jane@acme.io"),
        ("mailto:Sales@Acme.com", "sales@acme.com"),
    ],
)
def test_normalize_email(value: str, expected: str) -> None:
    assert normalize_email(value) == expected


@pytest.mark.parametrize("value", ["not-an-email", "a@b", "a@@b.com", "a b@c.com", "a@localhost", 7])
def test_normalize_email_rejects(value: object) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_email(value, field="email")
    assert caught.value.reason == "invalid_email"


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "United States", "+14155552671"),
        ("1 415 555 2671", "USA", "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "United Kingdom", "+442079460958"),
        ("030 123456", "Deutschland", "+4930123456"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+1 415-555-2671", "DE", "+14155552671"),
        ("+1 415 555 2671 ext. 12", None, "+14155552671;ext=12"),
        ("(415) 555-2671 x 7", "US", "+14155552671;ext=7"),
        (14155552671, None, "14155552671"),
        ("(415) 555-2671", None, "4155552671"),
        ("(415) 555-2671", "Narnia", "4155552671"),
        ("555-0100", "US", "5550100"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
    ],
)
def test_normalize_phone(value: object, country: str | None, expected: str) -> None:
    assert normalize_phone(value, country=country) == expected


@pytest.mark.parametrize(
    "value", ["1-800-FLOWERS", "call me", "123", "+1 23", "+999 1234567", "1234567890123456", "12+34567", True]
)
def test_normalize_phone_rejects(value: object) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_phone(value, country="US", field="phone")
    assert caught.value.reason == "invalid_phone"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("US", "US"),
        ("us", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("United Kingdom", "GB"),
        ("Deutschland", "DE"),
        ("germany", "DE"),
        ("DEU", "DE"),
        ("276", "DE"),
        (276, "DE"),
        ("4", "AF"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Russia", "RU"),
        ("Czech Republic", "CZ"),
        ("Czechia", "CZ"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("UAE", "AE"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("cote d ivoire", "CI"),
        ("Vietnam", "VN"),
        ("Bolivia", "BO"),
        ("Trinidad & Tobago", "TT"),
        ("Bosnia and Herzegovina", "BA"),
        ("NA", "NA"),
        ("  france ", "FR"),
    ],
)
def test_normalize_country(value: object, expected: str) -> None:
    assert normalize_country(value) == expected


@pytest.mark.parametrize("value", ["Narnia", "Korea", "Unted States", "Europe", "XX", True, 3.5])
def test_normalize_country_rejects_without_guessing(value: object) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_country(value, field="billing_country")
    assert caught.value.reason == "unknown_country"
