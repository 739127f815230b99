"""The canonical models are exactly CANONICAL.md: same names, types and required fields; fingerprints are stable."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas import (
    Account,
    CanonicalEvent,
    FieldMapping,
    FieldType,
    MappingVersion,
    Opportunity,
    SourceField,
    SourceSchema,
    canonical_fields,
    required_fields,
)

EXPECTED = {
    "account": [
        "account_id", "name", "website", "industry", "employee_count", "annual_revenue", "phone",
        "billing_street", "billing_city", "billing_state", "billing_postal_code", "billing_country",
        "owner_id", "description", "created_at", "updated_at",
    ],
    "opportunity": [
        "opportunity_id", "account_id", "name", "amount", "currency", "stage", "probability", "close_date",
        "status", "owner_id", "lead_source", "type", "created_at", "updated_at",
    ],
    "contact": [
        "contact_id", "account_id", "first_name", "last_name", "email", "phone", "mobile_phone", "title",
        "department", "mailing_city", "mailing_country", "owner_id", "lead_source", "created_at", "updated_at",
    ],
}  # fmt: skip
REQUIRED = {
    "account": ["account_id", "name"],
    "opportunity": ["opportunity_id", "name"],
    "contact": ["contact_id", "last_name"],
}
DESIGN = Path(__file__).resolve().parents[3] / "shared" / "design" / "CANONICAL.md"


@pytest.mark.parametrize("entity", sorted(EXPECTED))
def test_fields_and_required_match_the_contract(entity: str) -> None:
    assert canonical_fields(entity) == EXPECTED[entity]
    assert required_fields(entity) == REQUIRED[entity]


@pytest.mark.skipif(not DESIGN.exists(), reason="shared/design is not beside this checkout")
def test_fields_match_canonical_md() -> None:
    text = DESIGN.read_text()
    for entity, fields in EXPECTED.items():
        section = text.split(f"## {entity} ")[1].split("\n## ")[0]
        documented = re.findall(r"^\| (\w+) \|", section, flags=re.M)
        assert [f for f in documented if f != "field"] == fields


def test_types_are_exact() -> None:
    acc = Account(account_id="001", name="Acme", annual_revenue="1234.50", employee_count="12")
    assert acc.annual_revenue == Decimal("1234.50") and isinstance(acc.annual_revenue, Decimal)
    assert acc.employee_count == 12
    with pytest.raises(ValidationError):
        Account(account_id="001", name="Acme", created_at=datetime(2024, 1, 1))  # naive datetime
    opp = Opportunity(opportunity_id="006", name="Deal", status="won", probability=Decimal("35"))
    assert opp.status == "won"
    for bad in ({"status": "maybe"}, {"probability": 120}, {"currency": "usd"}):
        with pytest.raises(ValidationError):
            Opportunity(opportunity_id="006", name="Deal", **bad)
    with pytest.raises(ValidationError):
        Account(account_id="", name="Acme")
    with pytest.raises(ValidationError):
        Account(account_id="1", name="Acme", revenue=1)  # unknown fields are refused


def _schema(fields: list[tuple[str, FieldType]]) -> SourceSchema:
    return SourceSchema(stream="accounts", fields=[SourceField(name=n, type=t) for n, t in fields])


def test_fingerprint_ignores_order_and_spelling_noise_but_sees_renames_and_types() -> None:
    base = _schema([("Id", FieldType.STRING), ("AnnualRevenue", FieldType.NUMBER), ("Name", FieldType.STRING)])
    reordered = _schema([("Name", FieldType.STRING), ("Id", FieldType.STRING), ("AnnualRevenue", FieldType.NUMBER)])
    renamed = _schema([("Id", FieldType.STRING), ("Annual_Revenue__c", FieldType.NUMBER), ("Name", FieldType.STRING)])
    retyped = _schema([("Id", FieldType.STRING), ("AnnualRevenue", FieldType.STRING), ("Name", FieldType.STRING)])
    assert base.fingerprint == reordered.fingerprint
    assert len({base.fingerprint, renamed.fingerprint, retyped.fingerprint}) == 3


def test_envelope_and_mapping_version_validate() -> None:
    event = CanonicalEvent(
        tenant_id=uuid.uuid4(),
        entity="account",
        source_system="filesource",
        connection_id="c1",
        source_record_id="001",
        schema_fingerprint="abc",
        mapping_version=1,
        data={"account_id": "001", "name": "Acme"},
        lineage={"name": "Account Name"},
    )
    assert event.op == "upsert" and event.ingested_at.tzinfo is not None
    common = {"tenant_id": "t", "connection_id": "c", "stream": "s", "entity": "account", "version": 1}
    ok = MappingVersion(
        **common, fingerprint="f", confidence=0.9, fields=[FieldMapping(source_field="Name", canonical_field="name")]
    )
    assert ok.as_dict() == {"Name": "name"}
    with pytest.raises(ValidationError, match="mapped twice"):
        MappingVersion(
            **common,
            fingerprint="f",
            confidence=0.9,
            fields=[
                FieldMapping(source_field="Name", canonical_field="name"),
                FieldMapping(source_field="Company", canonical_field="name"),
            ],
        )
    with pytest.raises(ValidationError, match="not a field of account"):
        MappingVersion(
            **common, fingerprint="f", confidence=0.9, fields=[FieldMapping(source_field="X", canonical_field="amount")]
        )
