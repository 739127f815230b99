"""Turn a file of records (CSV, JSON array, JSONL, Parquet) into a SourceSchema with inferred types and samples."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from autonomos_pipeline.dcl.mapping.values import value_kind
from schemas.source_schema import FieldType, SourceField, SourceSchema

MAX_SAMPLES = 20


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested objects to dot paths (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def _read_json(path: Path) -> Iterator[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig").strip()
    if text.startswith("["):
        data = json.loads(text)
        for item in data:
            if isinstance(item, dict):
                yield item
        return
    for line in text.splitlines():
        if line.strip():
            item = json.loads(line)
            if isinstance(item, dict):
                yield item


def read_records(path: Path, limit: int = 1000) -> list[dict[str, Any]]:
    """Read up to limit records, flattened to dot paths; format chosen by extension (or content for JSON)."""
    suffix = path.suffix.lower()
    rows: Iterable[dict[str, Any]]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).slice(0, limit).to_pylist()
    elif suffix in (".json", ".jsonl", ".ndjson"):
        rows = _read_json(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.DictReader(fh, dialect=dialect))[:limit]
    else:
        raise ValueError(f"unsupported input format {suffix!r}: use .csv, .json, .jsonl or .parquet")
    out: list[dict[str, Any]] = []
    for row in rows:
        out.append(flatten(row))
        if len(out) >= limit:
            break
    return out


def infer_type(values: list[Any]) -> FieldType:
    """Infer a logical type from non-empty values."""
    if not values:
        return FieldType.UNKNOWN
    if all(isinstance(v, bool) for v in values):
        return FieldType.BOOLEAN
    if all(isinstance(v, datetime) for v in values):
        return FieldType.DATETIME
    if all(isinstance(v, date) for v in values):
        return FieldType.DATE
    if all(isinstance(v, list) for v in values):
        return FieldType.ARRAY
    kinds = {value_kind(v) for v in values}
    if kinds <= {"integer"} or (kinds <= {"integer", "epoch"} and all(isinstance(v, int) for v in values)):
        return FieldType.INTEGER
    if kinds <= {"integer", "decimal", "fraction", "small_number"}:
        return FieldType.NUMBER
    if kinds <= {"boolean"}:
        return FieldType.BOOLEAN
    if kinds <= {"date"}:
        return FieldType.DATE
    if kinds <= {"datetime", "date"}:
        return FieldType.DATETIME
    return FieldType.STRING


def _sample(value: Any) -> Any:
    """A JSON-friendly sample value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)[:200]
    return value


def schema_from_records(records: list[dict[str, Any]], stream: str = "input") -> SourceSchema:
    """Profile records: field order of first appearance, inferred types, up to MAX_SAMPLES distinct samples."""
    names: dict[str, None] = {}
    for rec in records:
        for key in rec:
            names.setdefault(key, None)
    fields: list[SourceField] = []
    for name in names:
        values = [r.get(name) for r in records]
        present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
        samples: list[Any] = []
        seen: set[str] = set()
        for v in present:
            key = repr(v)
            if key not in seen:
                seen.add(key)
                samples.append(_sample(v))
            if len(samples) >= MAX_SAMPLES:
                break
        fields.append(
            SourceField(name=name, type=infer_type(present), nullable=len(present) < len(values), sample_values=samples)
        )
    return SourceSchema(stream=stream, fields=fields)
