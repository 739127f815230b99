"""Event shapes: a journaled tenant event, the history page, and the short-lived stream token."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autonomos_api.models.common import Page, UTCDateTime


class EventPublic(BaseModel):
    """One lifecycle event of the tenant, as journaled (ids increase with time)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="journal id; pass the last one seen as Last-Event-ID / last_event_id to resume")
    tenant_id: uuid.UUID
    type: str
    payload: dict[str, Any]
    created_at: UTCDateTime


class EventsPublic(Page[EventPublic]):
    """A page of the tenant's event history."""


class StreamToken(BaseModel):
    """A short-lived token that authenticates only the event stream and WebSocket (safe to put in a URL)."""

    token: str
    token_type: Literal["stream"] = "stream"  # noqa: S105 - a kind, not a secret
    expires_in: int = Field(description="lifetime in seconds")
    scope: Literal["events"] = "events"
