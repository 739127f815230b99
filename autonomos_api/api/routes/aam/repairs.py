"""Repair proposals the mapping engine made after drift, newest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.errors import not_found
from autonomos_api.models.review import RepairPublic, RepairsPublic
from autonomos_pipeline.dcl.store import RepairProposal

router = APIRouter(prefix="/repairs", tags=["repairs"])

_NEWEST = SortKey(
    name="-created_at", column=RepairProposal.created_at, id_column=RepairProposal.id, descending=True, is_datetime=True
)


@router.get("", response_model=RepairsPublic)
def list_repairs(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16, description="pending, approved, rejected, ...")] = None,
    connection_id: uuid.UUID | None = None,
    drift_event_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> RepairsPublic:
    """Proposed mapping repairs and their review state, newest first."""
    conditions = equal_filters(
        {
            RepairProposal.tenant_id: user.tenant_id,
            RepairProposal.status: status,
            RepairProposal.connection_id: connection_id,
            RepairProposal.drift_event_id: drift_event_id,
        }
    )
    rows, total, next_cursor = filtered_page(session, RepairProposal, conditions, _NEWEST, limit, cursor)
    return RepairsPublic(data=[RepairPublic.model_validate(r) for r in rows], total=total, next_cursor=next_cursor)


@router.get("/{repair_id}", response_model=RepairPublic)
def get_repair(repair_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> RepairProposal:
    """One repair proposal with its proposed field mapping."""
    row = session.scalars(
        select(RepairProposal).where(RepairProposal.id == repair_id, RepairProposal.tenant_id == user.tenant_id)
    ).first()
    if row is None:
        raise not_found("repair proposal")
    return row
