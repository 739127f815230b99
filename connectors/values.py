"""Shared value handling: JSON-safe conversion, field type inference and sample collection for discover()."""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from schemas.source_schema import FieldType, SourceField

__all__ = ["SAMPLE_SIZE", "FieldProfiler", "infer_text_type", "json_safe", "json_text"]

SAMPLE_SIZE = 5
JsonScalar = str | int | float | bool | None

_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_BOOLEANS = {"true", "false"}


def json_safe(value: Any) -> Any:
    """Convert a Python or driver value to JSON-safe data (str, int, float, bool, None, lists and dicts of them).

    Datetimes become ISO 8601 strings in UTC (naive ones are taken as UTC), decimals their exact text,
    bytes base64 text, anything unknown its str().
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def json_text(value: Any) -> JsonScalar:
    """A JSON-safe scalar for one cell: containers become their compact JSON text, scalars stay as they are."""
    safe = json_safe(value)
    if isinstance(safe, dict | list):
        return json.dumps(safe, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return safe


def infer_text_type(text: str) -> FieldType:
    """Infer the type a piece of text spells; numbers with leading zeros (postal codes, ids) stay strings."""
    stripped = text.strip()
    if stripped.lower() in _BOOLEANS:
        return FieldType.BOOLEAN
    if _INTEGER.fullmatch(stripped):
        return FieldType.INTEGER
    if _NUMBER.fullmatch(stripped) and not re.match(r"[+-]?0[0-9]", stripped):
        return FieldType.NUMBER
    if _DATE.fullmatch(stripped):
        return FieldType.DATE
    if _DATETIME.fullmatch(stripped):
        return FieldType.DATETIME
    return FieldType.STRING


def _value_type(value: Any, infer_text: bool) -> FieldType:
    if isinstance(value, bool):
        return FieldType.BOOLEAN
    if isinstance(value, int):
        return FieldType.INTEGER
    if isinstance(value, float | Decimal):
        return FieldType.NUMBER
    if isinstance(value, datetime):
        return FieldType.DATETIME
    if isinstance(value, date):
        return FieldType.DATE
    if isinstance(value, Mapping):
        return FieldType.OBJECT
    if isinstance(value, list | tuple):
        return FieldType.ARRAY
    if isinstance(value, str) and infer_text:
        return infer_text_type(value)
    return FieldType.STRING


def _merge(types: set[FieldType]) -> FieldType:
    if not types:
        return FieldType.UNKNOWN
    if len(types) == 1:
        return next(iter(types))
    if types <= {FieldType.INTEGER, FieldType.NUMBER}:
        return FieldType.NUMBER
    if types <= {FieldType.DATE, FieldType.DATETIME}:
        return FieldType.DATETIME
    return FieldType.STRING


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


@dataclass
class _Profile:
    types: set[FieldType] = field(default_factory=set)
    missing: bool = False
    samples: list[Any] = field(default_factory=list)


class FieldProfiler:
    """Accumulates rows (dicts of field -> value) and turns them into SourceFields in first-seen order.

    Empty strings and None count as missing: they make a field nullable and are not samples. A field absent
    from some rows is nullable too. Samples are up to five distinct JSON-safe scalars. With `infer_text`,
    strings are typed by what they spell (for CSV and JSON, which have no date types); without it, for
    sources with real types (BSON), a string is a string.
    """

    def __init__(self, declared: Mapping[str, FieldType] | None = None, *, infer_text: bool = True) -> None:
        self._declared = dict(declared or {})
        self._infer_text = infer_text
        self._profiles: dict[str, _Profile] = {}
        self._rows = 0

    def add_columns(self, names: Iterable[str]) -> None:
        """Register fields known from a header or schema even if no row has values for them."""
        for name in names:
            self._profiles.setdefault(name, _Profile())

    def add(self, row: Mapping[str, Any]) -> None:
        """Profile one row."""
        for name in self._profiles.keys() - row.keys():
            self._profiles[name].missing = True
        for name, value in row.items():
            profile = self._profiles.get(name)
            if profile is None:
                profile = self._profiles[name] = _Profile(missing=self._rows > 0)
            if _is_missing(value):
                profile.missing = True
                continue
            profile.types.add(_value_type(value, self._infer_text))
            sample = json_text(value)
            if len(profile.samples) < SAMPLE_SIZE and sample not in profile.samples:
                profile.samples.append(sample)
        self._rows += 1

    def fields(self) -> list[SourceField]:
        """The profiled fields; declared types (from a typed source) win over inferred ones."""
        return [
            SourceField(
                name=name,
                type=self._declared.get(name, _merge(profile.types)),
                nullable=profile.missing or not profile.types,
                sample_values=profile.samples,
            )
            for name, profile in self._profiles.items()
        ]
