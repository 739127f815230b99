"""The canonical event envelope every record travels in, as CANONICAL.md defines it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.canonical import EntityName


class EventOp(StrEnum):
    """What happened to the record."""

    UPSERT = "upsert"
    DELETE = "delete"


class SourceSystem(StrEnum):
    """Source systems AutonomOS reads from."""

    SALESFORCE = "salesforce"
    FILESOURCE = "filesource"
    SUPABASE = "supabase"
    MONGODB = "mongodb"


class CanonicalEvent(BaseModel):
    """One canonical record with its provenance: the unit that moves through the platform."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    tenant_id: uuid.UUID
    entity: EntityName
    op: EventOp = EventOp.UPSERT
    source_system: str = Field(min_length=1, description="salesforce | filesource | supabase | mongodb | ...")
    connection_id: str = Field(min_length=1)
    source_record_id: str = Field(min_length=1)
    schema_fingerprint: str = Field(min_length=1)
    mapping_version: int = Field(ge=1)
    occurred_at: datetime | None = None
    ingested_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any]
    lineage: dict[str, str] = Field(default_factory=dict, description="canonical field -> source field path")
