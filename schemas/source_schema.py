"""Source-schema snapshots (stream, fields, keys) and their stable, order-independent fingerprint."""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator


class FieldType(StrEnum):
    """Inferred logical type of a source field."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    OBJECT = "object"
    ARRAY = "array"
    UNKNOWN = "unknown"


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_field_name(name: str) -> str:
    """Normalise a field name for fingerprinting: lower case, runs of non-alphanumerics become one underscore."""
    return _NON_ALNUM.sub("_", name.strip().lower()).strip("_")


class SourceField(BaseModel):
    """One field of a source stream as discovered."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="field name or dot path (hq.address.city)")
    type: FieldType = FieldType.UNKNOWN
    nullable: bool = True
    sample_values: list[Any] = Field(default_factory=list, max_length=50)


class SourceSchema(BaseModel):
    """A snapshot of one stream's schema."""

    model_config = ConfigDict(extra="forbid")

    stream: str = Field(min_length=1)
    fields: list[SourceField]
    primary_key: list[str] = Field(default_factory=list)
    cursor_field: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        """A serialised schema carries its fingerprint; it is derived, so it is recomputed, not read."""
        if isinstance(data, dict) and "fingerprint" in data:
            data = {k: v for k, v in data.items() if k != "fingerprint"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fingerprint(self) -> str:
        """A hash over normalised field names and types; reordering columns does not change it."""
        return fingerprint_fields((f.name, f.type) for f in self.fields)

    def field(self, name: str) -> SourceField | None:
        """Return the field called name, if any."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> list[str]:
        """Field names in source order."""
        return [f.name for f in self.fields]


def fingerprint_fields(fields: Any) -> str:
    """Fingerprint an iterable of (name, type) pairs, independent of their order."""
    items = sorted({(normalise_field_name(n), str(FieldType(t).value)) for n, t in fields})
    payload = json.dumps(items, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest()[:32]
