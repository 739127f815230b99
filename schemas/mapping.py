"""Mapping versions: how a source stream's fields become one canonical entity, immutable once made."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.canonical import EntityName, canonical_fields


class MappingAuthor(StrEnum):
    """Who made a mapping version."""

    ENGINE = "engine"
    PERSON = "person"


class FieldMapping(BaseModel):
    """One source field feeding one canonical field, with the normaliser that converts its values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_field: str = Field(min_length=1)
    canonical_field: str = Field(min_length=1)
    previous_source_fields: list[str] = Field(
        default_factory=list, description="names the field had before a repaired rename; read when it is absent"
    )
    normaliser: str | None = Field(None, description="name of the normaliser in schemas.normalize, if any")
    confidence: float = Field(1.0, ge=0.0, le=1.0)


class MappingVersion(BaseModel):
    """An immutable mapping of (tenant, connection, stream) onto an entity, made for one source fingerprint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str
    connection_id: str
    stream: str
    entity: EntityName
    version: int = Field(ge=1)
    fingerprint: str = Field(min_length=1)
    fields: list[FieldMapping]
    author: MappingAuthor = MappingAuthor.ENGINE
    created_by: str | None = Field(None, description="user id when a person made it")
    confidence: float = Field(ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    active: bool = False

    @model_validator(mode="after")
    def _check_targets(self) -> MappingVersion:
        """Every target must be a canonical field, and no canonical field may be fed twice."""
        allowed = set(canonical_fields(self.entity))
        seen: set[str] = set()
        for fm in self.fields:
            if fm.canonical_field not in allowed:
                raise ValueError(f"{fm.canonical_field!r} is not a field of {self.entity}")
            if fm.canonical_field in seen:
                raise ValueError(f"canonical field {fm.canonical_field!r} is mapped twice")
            seen.add(fm.canonical_field)
        return self

    def as_dict(self) -> dict[str, str]:
        """Return source field -> canonical field."""
        return {fm.source_field: fm.canonical_field for fm in self.fields}
