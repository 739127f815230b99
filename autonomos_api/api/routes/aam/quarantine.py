"""Quarantined source records: what could not become canonical, with the raw payload and the reasons."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.errors import not_found
from autonomos_api.models.review import QuarantinePage, QuarantinePublic
from autonomos_pipeline.dcl.store import QuarantineRecord

router = APIRouter(prefix="/quarantine", tags=["quarantine"])

_NEWEST = SortKey(
    name="-created_at",
    column=QuarantineRecord.created_at,
    id_column=QuarantineRecord.id,
    descending=True,
    is_datetime=True,
)


@router.get("", response_model=QuarantinePage)
def list_quarantine(
    user: CurrentUser,
    session: SessionDep,
    connection_id: uuid.UUID | None = None,
    stream: Annotated[str | None, Query(max_length=300)] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16, description="open, released, ...")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> QuarantinePage:
    """Quarantined records, newest first."""
    conditions = equal_filters(
        {
            QuarantineRecord.tenant_id: user.tenant_id,
            QuarantineRecord.connection_id: connection_id,
            QuarantineRecord.stream: stream,
            QuarantineRecord.entity: entity,
            QuarantineRecord.status: status,
        }
    )
    rows, total, next_cursor = filtered_page(session, QuarantineRecord, conditions, _NEWEST, limit, cursor)
    data = [QuarantinePublic.model_validate(r) for r in rows]
    return QuarantinePage(data=data, total=total, next_cursor=next_cursor)


@router.get("/{record_id}", response_model=QuarantinePublic)
def get_quarantined(record_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> QuarantineRecord:
    """One quarantined record."""
    row = session.scalars(
        select(QuarantineRecord).where(QuarantineRecord.id == record_id, QuarantineRecord.tenant_id == user.tenant_id)
    ).first()
    if row is None:
        raise not_found("quarantined record")
    return row
