"""Behaviour of MappingEngine.suggest: right answers are auto, doubtful ones are not, one-to-one holds."""

from __future__ import annotations

from collections.abc import Callable

from autonomos_pipeline.dcl.mapping import MappingEngine
from schemas.source_schema import SourceSchema

SF = "001Dn00000AbCdEIA3"


def _by_name(result: object) -> dict[str, object]:
    return {f.source_field: f for f in result.fields}  # type: ignore[attr-defined]


def test_salesforce_account_headers_map_automatically(
    engine: MappingEngine, make_schema: Callable[..., SourceSchema]
) -> None:
    schema = make_schema(
        ("Id", [SF, "001Dn00000AbCdEIA4", "001Dn00000XyZabIA1"]),
        ("Name", ["Acme Corp", "Globex Inc", "Initech"]),
        ("Website", ["https://acme.com", "www.globex.io", "initech.de"]),
        ("Industry", ["Technology", "Banking", "Retail"]),
        ("NumberOfEmployees", [120, 4500, 35]),
        ("BillingCity", ["Berlin", "Paris", "Austin"]),
        ("BillingCountry", ["Germany", "France", "United States"]),
        ("Phone", ["+49 30 1234567", "(555) 123-4567", "+33 1 23 45 67 89"]),
        ("CreatedDate", ["2024-01-03T10:00:00.000+0000", "2023-11-30T08:12:00.000+0000", None]),
    )
    result = engine.suggest(schema, "account")
    expected = {
        "Id": "account_id",
        "Name": "name",
        "Website": "website",
        "Industry": "industry",
        "NumberOfEmployees": "employee_count",
        "BillingCity": "billing_city",
        "BillingCountry": "billing_country",
        "Phone": "phone",
        "CreatedDate": "created_at",
    }
    fields = _by_name(result)
    for source, canonical in expected.items():
        f = fields[source]
        assert f.canonical_field == canonical, (source, f)  # type: ignore[attr-defined]
        assert f.decision == "auto", (source, f)  # type: ignore[attr-defined]


def test_custom_suffix_is_stripped(engine: MappingEngine, make_schema: Callable[..., SourceSchema]) -> None:
    schema = make_schema(("Name", ["Acme", "Globex"]), ("Annual_Revenue__c", [1200000.0, 5.5e7, 830000.0]))
    f = _by_name(engine.suggest(schema, "account"))["Annual_Revenue__c"]
    assert f.canonical_field == "annual_revenue"  # type: ignore[attr-defined]


def test_german_headers(engine: MappingEngine, make_schema: Callable[..., SourceSchema]) -> None:
    schema = make_schema(
        ("Firma", ["Müller Maschinenbau GmbH", "Hansa Handel GmbH", "Alpen Energie AG"]),
        ("Umsatz", ["1.200.000 €", "850.000 €", "12.500.000 €"]),
        ("Mitarbeiter", [120, 45, 2300]),
        ("Ort", ["München", "Hamburg", "Köln"]),
        ("PLZ", ["80331", "20095", "50667"]),
        ("Land", ["Deutschland", "Österreich", "Schweiz"]),
        ("Telefon", ["089 123456", "040 987654", "0221 555123"]),
    )
    got = {f.source_field: f.canonical_field for f in engine.suggest(schema, "account").fields}
    assert got == {
        "Firma": "name",
        "Umsatz": "annual_revenue",
        "Mitarbeiter": "employee_count",
        "Ort": "billing_city",
        "PLZ": "billing_postal_code",
        "Land": "billing_country",
        "Telefon": "phone",
    }


def test_fields_without_counterpart_are_never_auto(
    engine: MappingEngine, make_schema: Callable[..., SourceSchema]
) -> None:
    schema = make_schema(
        ("Name", ["Acme", "Globex", "Initech"]),
        ("Phone", ["+49 30 1234567", "+1 555 123 4567", "+33 1 23 45 67 89"]),
        ("Fax", ["+49 30 1234568", "+1 555 123 4568", "+33 1 23 45 67 80"]),
        ("Rating", ["Hot", "Warm", "Cold"]),
        ("SLA__c", ["Gold", "Silver", "Bronze"]),
        ("Tax ID", ["DE123456789", "FR987654321", "GB111222333"]),
        ("NumberofLocations__c", [3, 12, 1]),
        ("favorite_color", ["blue", "green", "red"]),
        ("LinkedIn URL", ["https://www.linkedin.com/company/acme", "https://linkedin.com/company/globex", None]),
    )
    fields = _by_name(engine.suggest(schema, "account"))
    for name in ("Fax", "Rating", "SLA__c", "Tax ID", "NumberofLocations__c", "favorite_color", "LinkedIn URL"):
        assert fields[name].decision != "auto", fields[name]  # type: ignore[attr-defined]


def test_two_fields_never_claim_one_canonical_field(
    engine: MappingEngine, make_schema: Callable[..., SourceSchema]
) -> None:
    schema = make_schema(
        ("Phone", ["+49 30 1234567", "+1 555 123 4567"]),
        ("Telephone", ["+49 30 7654321", "+1 555 765 4321"]),
        ("Main Phone", ["+49 30 1111111", "+1 555 111 1111"]),
        ("Company", ["Acme", "Globex"]),
        ("Company Name", ["Acme Corp", "Globex Inc"]),
    )
    result = engine.suggest(schema, "account")
    claimed = [f.canonical_field for f in result.fields if f.canonical_field is not None]
    assert len(claimed) == len(set(claimed))
    assert "phone" in claimed and "name" in claimed


def test_suggestion_shape_and_evidence(engine: MappingEngine, make_schema: Callable[..., SourceSchema]) -> None:
    schema = make_schema(("dealname", ["Acme - Pilot", "Globex - Renewal"]), ("amount", ["12500.00", "48000"]))
    result = engine.suggest(schema, "opportunity")
    data = result.to_json_dict()
    assert data["entity"] == "opportunity"
    assert 0.0 < data["auto_threshold"] < 1.0
    for f in data["fields"]:
        assert 0.0 <= f["confidence"] <= 1.0
        assert f["decision"] in ("auto", "review", "unmapped")
        assert all(isinstance(a, list) and len(a) == 2 for a in f["alternatives"])
    deal = _by_name(result)["dealname"]
    assert deal.canonical_field == "name"  # type: ignore[attr-defined]
    assert "signals" in deal.evidence and "embed_name" in deal.evidence["signals"]  # type: ignore[attr-defined]


def test_auto_threshold_override_turns_auto_into_review(
    embedder: object, make_schema: Callable[..., SourceSchema]
) -> None:
    from autonomos_pipeline.dcl.mapping import NumpyMemory

    strict = MappingEngine(embedder=embedder, memory=NumpyMemory(), auto_threshold=1.0)  # type: ignore[arg-type]
    result = strict.suggest(make_schema(("Email", ["a@acme.com", "b@globex.io"])), "contact")
    assert result.fields[0].canonical_field == "email"
    assert result.fields[0].decision == "review"
