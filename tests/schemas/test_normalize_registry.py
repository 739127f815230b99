"""The public surface of schemas.normalize, the normaliser registry and its coverage of the canonical model."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import schemas.normalize as normalize
from schemas.canonical import CANONICAL_MODELS, Account, Contact, Opportunity, canonical_fields
from schemas.normalize import DEFAULT_NORMALISER, NORMALISERS, NormalisationError

NAMES = {
    "str", "int", "website", "phone", "country", "email", "money", "currency",
    "percent_fraction", "percent_points", "percent_auto", "datetime", "date", "status",
}  # fmt: skip


def test_public_names_are_exported() -> None:
    assert sorted(normalize.__all__) == sorted(set(normalize.__all__))
    for name in normalize.__all__:
        assert hasattr(normalize, name), name


def test_registry_names() -> None:
    assert set(NORMALISERS) == NAMES


@pytest.mark.parametrize("entity", sorted(CANONICAL_MODELS))
def test_every_canonical_field_has_a_default_normaliser(entity: str) -> None:
    for field in canonical_fields(entity):
        assert DEFAULT_NORMALISER[(entity, field)] in NORMALISERS, (entity, field)


def test_default_normalisers_cover_only_canonical_fields() -> None:
    known = {(entity, field) for entity in CANONICAL_MODELS for field in canonical_fields(entity)}
    assert set(DEFAULT_NORMALISER) == known


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (("account", "annual_revenue"), "money"),
        (("account", "website"), "website"),
        (("account", "billing_postal_code"), "str"),
        (("opportunity", "probability"), "percent_auto"),
        (("opportunity", "close_date"), "date"),
        (("opportunity", "status"), "status"),
        (("contact", "email"), "email"),
        (("contact", "mobile_phone"), "phone"),
        (("contact", "contact_id"), "str"),
    ],
)
def test_default_normaliser_examples(key: tuple[str, str], name: str) -> None:
    assert DEFAULT_NORMALISER[key] == name


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("percent_fraction", "0.35", Decimal("35")),
        ("percent_points", "0.35", Decimal("0.35")),
        ("percent_auto", "35", Decimal("35")),
    ],
)
def test_percent_registry_entries_carry_their_rule(name: str, value: str, expected: Decimal) -> None:
    assert NORMALISERS[name](value, field="probability") == expected


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_registered_normaliser_maps_null_to_none_and_takes_field(name: str) -> None:
    assert NORMALISERS[name](None, field="x") is None
    assert NORMALISERS[name]("  N/A ", field="x") is None


RAW = {
    "account": {
        "account_id": " 001A ", "name": "Acme  Corp", "website": "https://www.acme.com/", "industry": "Tech",
        "employee_count": "1,200", "annual_revenue": "$1,234,567.00", "phone": "+1 415 555 2671",
        "billing_street": "1 Main St", "billing_city": "SF", "billing_state": "CA", "billing_postal_code": "02134",
        "billing_country": "USA", "owner_id": "005X", "description": "null",
        "created_at": "2024-01-15T10:30:00.000+0000", "updated_at": 1705314600000,
    },
    "opportunity": {
        "opportunity_id": "006A", "account_id": "001A", "name": "Big deal", "amount": "1.234,56 EUR",
        "currency": "eur", "stage": "Negotiation", "probability": "75", "close_date": "03/31/2024",
        "status": "Closed Won", "owner_id": "005X", "lead_source": "Web", "type": "New Business",
        "created_at": "01/15/2024 10:30 AM", "updated_at": "15.01.2024 10:30",
    },
    "contact": {
        "contact_id": "003A", "account_id": "001A", "first_name": "Ada", "last_name": "Lovelace",
        "email": "Ada@Acme.COM", "phone": "+44 20 7946 0958", "mobile_phone": "", "title": "CTO",
        "department": "R&D", "mailing_city": "London", "mailing_country": "United Kingdom", "owner_id": "005X",
        "lead_source": "-", "created_at": "2024-01-15", "updated_at": "2024-01-15T10:30:00Z",
    },
}  # fmt: skip


@pytest.mark.parametrize("model", [Account, Opportunity, Contact])
def test_default_normalisers_produce_valid_canonical_records(model: type) -> None:
    entity = model.__name__.lower()
    data = {f: NORMALISERS[DEFAULT_NORMALISER[(entity, f)]](v, field=f) for f, v in RAW[entity].items()}
    record = model(**data)
    assert record.created_at.tzinfo is not None
    assert record.updated_at.astimezone(UTC) == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def test_registered_normalisers_raise_normalisation_errors_with_the_field() -> None:
    with pytest.raises(NormalisationError) as caught:
        NORMALISERS[DEFAULT_NORMALISER[("contact", "email")]]("nope", field="email")
    assert caught.value.as_dict()["field"] == "email"
