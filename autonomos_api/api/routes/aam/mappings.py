"""Mapping versions of the tenant's streams, newest first; one version per stream is active."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.errors import not_found
from autonomos_api.models.review import MappingPublic, MappingsPublic
from autonomos_pipeline.dcl.store import MappingVersionRow

router = APIRouter(prefix="/mappings", tags=["mappings"])

_NEWEST = SortKey(
    name="-created_at",
    column=MappingVersionRow.created_at,
    id_column=MappingVersionRow.id,
    descending=True,
    is_datetime=True,
)


@router.get("", response_model=MappingsPublic)
def list_mappings(
    user: CurrentUser,
    session: SessionDep,
    connection_id: uuid.UUID | None = None,
    stream: Annotated[str | None, Query(max_length=300)] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    active: Annotated[bool | None, Query(description="true: only active versions; false: only inactive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> MappingsPublic:
    """Mapping versions and which one is active per stream, newest first."""
    conditions = equal_filters(
        {
            MappingVersionRow.tenant_id: user.tenant_id,
            MappingVersionRow.connection_id: connection_id,
            MappingVersionRow.stream: stream,
            MappingVersionRow.entity: entity,
            MappingVersionRow.is_active: active,
        }
    )
    rows, total, next_cursor = filtered_page(session, MappingVersionRow, conditions, _NEWEST, limit, cursor)
    return MappingsPublic(data=[MappingPublic.model_validate(r) for r in rows], total=total, next_cursor=next_cursor)


@router.get("/{mapping_id}", response_model=MappingPublic)
def get_mapping(mapping_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> MappingVersionRow:
    """One mapping version with its field mappings."""
    row = session.scalars(
        select(MappingVersionRow).where(
            MappingVersionRow.id == mapping_id, MappingVersionRow.tenant_id == user.tenant_id
        )
    ).first()
    if row is None:
        raise not_found("mapping version")
    return row
