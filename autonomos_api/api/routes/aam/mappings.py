"""Mapping versions of the tenant's streams (one active per stream), rollback, and suggestions for a sample file."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, MemberUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.db import api_engine
from autonomos_api.core.errors import APIError, not_found
from autonomos_api.models.review import MappingPublic, MappingsPublic, SuggestionPublic
from autonomos_api.services.suggest import MAX_UPLOAD_BYTES, file_suffix, read_sample, suggest
from autonomos_pipeline.dcl.repair import rollback
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
    return _own_version(session, mapping_id, user.tenant_id)


def _own_version(session: SessionDep, mapping_id: uuid.UUID, tenant_id: uuid.UUID) -> MappingVersionRow:
    row = session.scalars(
        select(MappingVersionRow).where(MappingVersionRow.id == mapping_id, MappingVersionRow.tenant_id == tenant_id)
    ).first()
    if row is None:
        raise not_found("mapping version")
    return row


@router.post("/{mapping_id}/activate", response_model=MappingPublic)
def activate_mapping(mapping_id: uuid.UUID, user: MemberUser, session: SessionDep) -> MappingVersionRow:
    """Make this version the stream's active mapping (rollback); the next canonical run re-processes the stream."""
    _own_version(session, mapping_id, user.tenant_id)
    try:
        return rollback(api_engine(), str(user.tenant_id), mapping_id)
    except LookupError:
        raise not_found("mapping version") from None


@router.post(
    "/suggest",
    response_model=SuggestionPublic,
    responses={413: {"description": "the file is larger than 10 MB"}, 415: {"description": "unknown file format"}},
)
def suggest_mapping(
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="sample as CSV, JSON array, JSONL or Parquet (at most 10 MB)")],
    entity: Annotated[Literal["account", "opportunity", "contact"], Form()],
) -> SuggestionPublic:
    """Suggest canonical fields for a sample file's columns; nothing is stored, learned or published."""
    suffix = file_suffix(file.filename, file.content_type)
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise APIError(413, "payload_too_large", f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    records = read_sample(data, suffix)
    stream = Path(file.filename or "sample").stem[:200] or "sample"
    result = suggest(api_engine(), str(user.tenant_id), records, entity, stream)
    return SuggestionPublic.model_validate(result.to_json_dict())
