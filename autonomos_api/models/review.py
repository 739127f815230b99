"""Drift review shapes: drift events, repair proposals, mapping versions and quarantined records."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autonomos_api.models.common import Page, UTCDateTime

CanonicalName = Annotated[str, Field(min_length=1, max_length=64)]


class DriftEventPublic(BaseModel):
    """A detected change of a stream's schema against its mapped fingerprint."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    from_fingerprint: str
    to_fingerprint: str
    severity: str
    changes: list[Any]
    status: str
    detected_at: UTCDateTime


class DriftEventsPublic(Page[DriftEventPublic]):
    """A page of drift events."""


class RepairPublic(BaseModel):
    """A mapping the engine proposed after drift, and its review state."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    drift_event_id: uuid.UUID | None
    connection_id: uuid.UUID
    stream: str
    entity: str
    base_version_id: uuid.UUID | None
    proposed_fields: list[Any]
    confidence: float
    status: str
    created_at: UTCDateTime
    decided_at: UTCDateTime | None
    decided_by: uuid.UUID | None


class RepairsPublic(Page[RepairPublic]):
    """A page of repair proposals."""


class MappingPublic(BaseModel):
    """An immutable mapping version of (connection, stream) onto an entity; one per stream is active."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    entity: str
    version: int
    fingerprint: str
    fields: list[Any]
    author: str
    created_by: uuid.UUID | None
    confidence: float
    is_active: bool
    created_at: UTCDateTime


class MappingsPublic(Page[MappingPublic]):
    """A page of mapping versions."""


class QuarantinePublic(BaseModel):
    """A source record that could not become canonical, with its raw payload and reasons."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    connection_id: uuid.UUID
    stream: str
    entity: str | None
    batch_id: str | None
    source_record_id: str | None
    raw: dict[str, Any]
    reasons: list[Any]
    mapping_version: int | None
    status: str
    created_at: UTCDateTime


class QuarantinePage(Page[QuarantinePublic]):
    """A page of quarantined records."""


class ApproveRequest(BaseModel):
    """Approve a repair proposal, optionally deciding single fields differently than the engine proposed."""

    overrides: dict[Annotated[str, Field(min_length=1, max_length=300)], CanonicalName | None] = Field(
        default_factory=dict,
        max_length=500,
        description="source field -> canonical field of the proposal's entity, or null to leave it unmapped",
    )


class FieldSuggestionPublic(BaseModel):
    """The engine's answer for one source field."""

    source_field: str
    canonical_field: str | None
    confidence: float
    decision: Literal["auto", "review", "unmapped"]
    alternatives: list[tuple[str, float]] = Field(description="other canonical fields and their probabilities")


class SuggestionPublic(BaseModel):
    """The engine's suggestion for a sample file (the shape of `autonomos mapping suggest --format json`)."""

    entity: str
    fields: list[FieldSuggestionPublic]
    coverage: float = Field(description="share of fields the tenant's approved mappings (memory) already cover")
    auto_threshold: float
    llm_calls: int
    llm_calls_saved: int
