"""Drift events of the tenant's streams, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.errors import not_found
from autonomos_api.models.review import DriftEventPublic, DriftEventsPublic
from autonomos_pipeline.dcl.store import DriftEvent

router = APIRouter(prefix="/drift-events", tags=["drift"])

_NEWEST = SortKey(
    name="-detected_at", column=DriftEvent.detected_at, id_column=DriftEvent.id, descending=True, is_datetime=True
)


@router.get("", response_model=DriftEventsPublic)
def list_drift_events(
    user: CurrentUser,
    session: SessionDep,
    connection_id: uuid.UUID | None = None,
    stream: Annotated[str | None, Query(max_length=300)] = None,
    status: Annotated[str | None, Query(max_length=16, description="open, repaired, ...")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> DriftEventsPublic:
    """Detected schema changes, newest first."""
    conditions = equal_filters(
        {
            DriftEvent.tenant_id: user.tenant_id,
            DriftEvent.connection_id: connection_id,
            DriftEvent.stream: stream,
            DriftEvent.status: status,
        }
    )
    rows, total, next_cursor = filtered_page(session, DriftEvent, conditions, _NEWEST, limit, cursor)
    data = [DriftEventPublic.model_validate(r) for r in rows]
    return DriftEventsPublic(data=data, total=total, next_cursor=next_cursor)


@router.get("/{drift_event_id}", response_model=DriftEventPublic)
def get_drift_event(drift_event_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> DriftEvent:
    """One drift event with its field-level changes."""
    row = session.scalars(
        select(DriftEvent).where(DriftEvent.id == drift_event_id, DriftEvent.tenant_id == user.tenant_id)
    ).first()
    if row is None:
        raise not_found("drift event")
    return row
