"""PostgreSQL column types mapped to FieldTypes and Arrow types, and cells converted to match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from connectors.values import json_text
from schemas.source_schema import FieldType

__all__ = ["Column", "arrow_column"]

_INTEGERS = {"int2", "int4", "int8", "oid"}
_FLOATS = {"float4", "float8"}


@dataclass(frozen=True)
class Column:
    """One column of a table as information_schema describes it."""

    name: str
    udt_name: str
    data_type: str
    nullable: bool

    @property
    def field_type(self) -> FieldType:
        """The FieldType discover() reports."""
        udt = self.udt_name
        if self.data_type == "ARRAY":
            return FieldType.ARRAY
        mapping = {
            "bool": FieldType.BOOLEAN,
            "numeric": FieldType.NUMBER,
            "date": FieldType.DATE,
            "timestamp": FieldType.DATETIME,
            "timestamptz": FieldType.DATETIME,
            "json": FieldType.OBJECT,
            "jsonb": FieldType.OBJECT,
        }
        if udt in _INTEGERS:
            return FieldType.INTEGER
        if udt in _FLOATS:
            return FieldType.NUMBER
        return mapping.get(udt, FieldType.STRING)

    @property
    def arrow_type(self) -> pa.DataType:
        """Native Arrow type where exact; numeric, json, arrays, uuid and the rest become text."""
        if self.data_type == "ARRAY":
            return pa.string()
        mapping: dict[str, pa.DataType] = {
            "bool": pa.bool_(),
            "date": pa.date32(),
            "timestamp": pa.timestamp("us"),
            "timestamptz": pa.timestamp("us", tz="UTC"),
        }
        if self.udt_name in _INTEGERS:
            return pa.int64()
        if self.udt_name in _FLOATS:
            return pa.float64()
        return mapping.get(self.udt_name, pa.string())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(json_text(value))


def arrow_column(column: Column, values: list[Any]) -> pa.Array:
    """An Arrow array of the column's type; text columns hold exact text (decimals, JSON, uuids)."""
    data_type = column.arrow_type
    convert: Callable[[Any], Any] = _as_text if data_type == pa.string() else (lambda v: v)
    return pa.array([convert(v) for v in values], type=data_type)
