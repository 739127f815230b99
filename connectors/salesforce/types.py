"""Salesforce field types mapped to FieldTypes and Arrow types, and JSON values converted to match."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from schemas.source_schema import FieldType

__all__ = ["SKIPPED_TYPES", "arrow_array", "field_type", "parse_datetime"]

# Compound fields: their components (BillingStreet, BillingCity, ...) are fields of their own.
SKIPPED_TYPES = frozenset({"address", "location", "base64"})

_FIELD_TYPES = {
    "boolean": FieldType.BOOLEAN,
    "int": FieldType.INTEGER,
    "long": FieldType.INTEGER,
    "double": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
}


def field_type(salesforce_type: str) -> FieldType:
    """The FieldType of a describe() field type; ids, references, picklists, text kinds are strings."""
    return _FIELD_TYPES.get(salesforce_type, FieldType.STRING)


def parse_datetime(value: str) -> datetime:
    """Parse Salesforce's 2024-01-15T10:30:00.000+0000."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def _convert(salesforce_type: str, value: Any) -> Any:
    if value is None:
        return None
    if salesforce_type == "datetime":
        return parse_datetime(value)
    if salesforce_type == "date":
        return date.fromisoformat(value)
    if salesforce_type in {"int", "long"}:
        return int(value)
    if salesforce_type in {"double", "percent"}:
        return float(value)
    if salesforce_type == "boolean":
        return bool(value)
    if isinstance(value, Decimal):
        return str(value)
    return value if isinstance(value, str) else str(value)


_ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "long": pa.int64(),
    "double": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}


def arrow_array(salesforce_type: str, values: list[Any]) -> pa.Array:
    """Native Arrow types for numbers, booleans and times; currency stays exact text; the rest is text."""
    data_type = _ARROW_TYPES.get(salesforce_type, pa.string())
    return pa.array([_convert(salesforce_type, v) for v in values], type=data_type)
