"""Connections: Base / Create / Update / Public shapes; secrets are accepted on write and never returned."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autonomos_api.models.common import Page, UTCDateTime


class ConnectorType(StrEnum):
    """The source systems a connection can point at."""

    FILESOURCE = "filesource"
    SUPABASE = "supabase"
    SALESFORCE = "salesforce"
    MONGODB = "mongodb"


Name = Field(min_length=1, max_length=200, pattern=r"\S")
Interval = Field(60, ge=1, le=7 * 24 * 60, description="minutes between scheduled refreshes")
Secrets = Field(
    None,
    description="write-only credentials (e.g. password, client_secret, url with a password); encrypted at rest, "
    "never returned. On update they are merged: a null value removes that secret.",
)


class ConnectionBase(BaseModel):
    """Fields every connection shape shares."""

    name: str = Name
    type: ConnectorType
    config: dict[str, Any] = Field(default_factory=dict, description="non-secret connector settings")
    refresh_interval_minutes: int = Interval
    is_active: bool = True


class ConnectionCreate(ConnectionBase):
    """A new connection; secrets go in `secrets`, never in `config`."""

    secrets: dict[str, str] | None = Secrets


class ConnectionUpdate(BaseModel):
    """Changes to a connection; `config` replaces the whole config when given."""

    name: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S")
    config: dict[str, Any] | None = None
    refresh_interval_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    is_active: bool | None = None
    secrets: dict[str, str | None] | None = Secrets


class ConnectionPublic(ConnectionBase):
    """A connection as the API shows it: which secrets are set, never their values."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    has_secrets: bool
    created_at: UTCDateTime
    updated_at: UTCDateTime


class ConnectionsPublic(Page[ConnectionPublic]):
    """A page of connections."""


class CheckPublic(BaseModel):
    """Whether the source answers and can be read, and why."""

    ok: bool
    reason: str


class FieldPublic(BaseModel):
    """One discovered source field."""

    name: str
    type: str
    nullable: bool


class StreamPublic(BaseModel):
    """One discovered stream: its fields, keys and schema fingerprint."""

    stream: str
    fingerprint: str
    primary_key: list[str]
    cursor_field: str | None
    fields: list[FieldPublic]


class DiscoverPublic(BaseModel):
    """Every stream the source offers."""

    connection_id: uuid.UUID
    streams: list[StreamPublic]
