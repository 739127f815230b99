"""Drift classification: renames are paired, severities follow what the mapping uses, reordering is not drift."""

from __future__ import annotations

from autonomos_pipeline.dcl.drift import classify, type_compatible
from schemas import FieldType, SourceField, SourceSchema

T = FieldType


def _schema(*fields: tuple[str, FieldType, list[object]], nullable: dict[str, bool] | None = None) -> SourceSchema:
    nullable = nullable or {}
    return SourceSchema(
        stream="accounts",
        fields=[SourceField(name=n, type=t, sample_values=v, nullable=nullable.get(n, True)) for n, t, v in fields],
    )


OLD = _schema(
    ("Id", T.STRING, ["001", "002"]),
    ("Name", T.STRING, ["Acme", "Globex"]),
    ("AnnualRevenue", T.NUMBER, [1000, 2000]),
    ("Phone", T.STRING, ["+1 617 555 0100"]),
    ("Rating", T.STRING, ["Hot"]),
    ("NumberOfEmployees", T.INTEGER, [10, 20]),
)
MAPPING = {"Id": "account_id", "Name": "name", "AnnualRevenue": "annual_revenue", "Phone": "phone",
           "NumberOfEmployees": "employee_count"}  # fmt: skip


def test_reordered_columns_are_not_drift() -> None:
    reordered = _schema(*[(f.name, f.type, f.sample_values) for f in reversed(OLD.fields)])
    report = classify(OLD, reordered, mapping=MAPPING, entity="account")
    assert not report.is_drift and report.severity is None


def test_renames_added_and_type_changes_are_classified() -> None:
    new = _schema(
        ("Id", T.STRING, ["001", "002"]),
        ("Account_Name__c", T.STRING, ["Acme", "Globex"]),
        ("Annual_Revenue__c", T.NUMBER, [1000, 2000]),
        ("Phone", T.STRING, ["+1 617 555 0100"]),
        ("Rating", T.STRING, ["Hot"]),
        ("NumberOfEmployees", T.STRING, ["10", "20"]),
        ("Region__c", T.STRING, ["EMEA"]),
    )
    report = classify(OLD, new, mapping=MAPPING, entity="account")
    by_kind = {(c.kind, c.field): c for c in report.changes}
    rename = by_kind[("renamed", "AnnualRevenue")]
    assert rename.new_field == "Annual_Revenue__c" and rename.severity == "high" and rename.confidence
    assert by_kind[("renamed", "Name")].new_field == "Account_Name__c"
    assert by_kind[("added", "Region__c")].severity == "medium"
    widened = by_kind[("type_changed", "NumberOfEmployees")]
    assert widened.severity == "medium" and (widened.old_type, widened.new_type) == ("integer", "string")
    assert report.severity == "high"


def test_a_mapped_required_field_gone_is_critical() -> None:
    new = _schema(("Id", T.STRING, ["001"]), ("Phone", T.STRING, ["x"]), ("AnnualRevenue", T.NUMBER, [1]))
    report = classify(OLD, new, mapping=MAPPING, entity="account")
    removed = {c.field: c.severity for c in report.changes if c.kind == "removed"}
    assert removed["Name"] == "critical" and removed["Rating"] == "medium"
    assert report.severity == "critical"


def test_incompatible_type_of_required_field_is_critical_and_nullability_is_low() -> None:
    new = _schema(
        ("Id", T.INTEGER, [1, 2]),
        ("Name", T.STRING, ["Acme"]),
        ("AnnualRevenue", T.NUMBER, [1000]),
        ("Phone", T.STRING, ["x"]),
        ("Rating", T.STRING, ["Hot"]),
        ("NumberOfEmployees", T.INTEGER, [10]),
        nullable={"Phone": False},
    )
    report = classify(OLD, new, mapping=MAPPING, entity="account")
    kinds = {(c.kind, c.field): c.severity for c in report.changes}
    assert kinds == {("type_changed", "Id"): "critical", ("nullability", "Phone"): "low"}
    assert type_compatible(T.INTEGER, T.NUMBER) and not type_compatible(T.STRING, T.INTEGER)
