"""Repair proposals the mapping engine made after drift, newest first, and the review actions on them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from autonomos_api.api.deps import CurrentUser, MemberUser, SessionDep
from autonomos_api.api.pagination import SortKey, equal_filters, filtered_page
from autonomos_api.core.db import api_engine
from autonomos_api.core.errors import APIError, not_found
from autonomos_api.models.review import ApproveRequest, MappingPublic, RepairPublic, RepairsPublic
from autonomos_pipeline.dcl.repair import ReviewError, approve_proposal, reject_proposal
from autonomos_pipeline.dcl.store import MappingVersionRow, RepairProposal, tenant_session
from schemas import canonical_fields

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


def _pending(session: SessionDep, repair_id: uuid.UUID, tenant_id: uuid.UUID) -> RepairProposal:
    """The caller's proposal (404 otherwise); 409 when someone already decided it."""
    row = session.scalars(
        select(RepairProposal).where(RepairProposal.id == repair_id, RepairProposal.tenant_id == tenant_id)
    ).first()
    if row is None:
        raise not_found("repair proposal")
    if row.status != "pending":
        raise _decided(row.status)
    return row


def _decided(status: str) -> APIError:
    return APIError(409, "already_decided", f"the repair proposal is already {status}", decision=status)


def _check_overrides(proposal: RepairProposal, overrides: dict[str, str | None]) -> None:
    """422 naming each override that is not a field of the proposal or not a canonical field of its entity."""
    sources = {f["source_field"] for f in proposal.proposed_fields}
    allowed = set(canonical_fields(proposal.entity))
    errors = [
        {"field": f"overrides.{src}", "message": f"not a field of stream {proposal.stream!r}"}
        for src in overrides
        if src not in sources
    ]
    errors += [
        {"field": f"overrides.{src}", "message": f"{dst!r} is not a canonical {proposal.entity} field"}
        for src, dst in overrides.items()
        if src in sources and dst is not None and dst not in allowed
    ]
    if errors:
        raise APIError(
            422, "invalid_override", "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )


def _review_error(tenant_id: uuid.UUID, repair_id: uuid.UUID, exc: ReviewError) -> APIError:
    """409 when a concurrent review decided the proposal first, else 422 with the engine's reason."""
    with tenant_session(tenant_id, api_engine()) as s:
        row = s.get(RepairProposal, repair_id)
    if row is not None and row.status != "pending":
        return _decided(row.status)
    return APIError(422, "invalid_override", str(exc), errors=[{"field": "overrides", "message": str(exc)}])


@router.post("/{repair_id}/approve", response_model=MappingPublic)
def approve_repair(
    repair_id: uuid.UUID, user: MemberUser, session: SessionDep, body: ApproveRequest | None = None
) -> MappingVersionRow:
    """Approve a proposal (optionally overriding fields): it becomes the stream's new active mapping version."""
    overrides = body.overrides if body is not None else {}
    _check_overrides(_pending(session, repair_id, user.tenant_id), overrides)
    try:
        return approve_proposal(api_engine(), str(user.tenant_id), repair_id, user_id=user.id, overrides=overrides)
    except LookupError:
        raise not_found("repair proposal") from None
    except ReviewError as exc:
        raise _review_error(user.tenant_id, repair_id, exc) from None


@router.post("/{repair_id}/reject", response_model=RepairPublic)
def reject_repair(repair_id: uuid.UUID, user: MemberUser, session: SessionDep) -> RepairProposal:
    """Reject a proposal: the stream keeps its last good mapping and the drift is closed as rejected."""
    _pending(session, repair_id, user.tenant_id)
    try:
        reject_proposal(api_engine(), str(user.tenant_id), repair_id, user_id=user.id)
    except LookupError:
        raise not_found("repair proposal") from None
    except ReviewError as exc:
        raise _review_error(user.tenant_id, repair_id, exc) from None
    with tenant_session(user.tenant_id, api_engine()) as s:
        row = s.get(RepairProposal, repair_id)
    if row is None:
        raise not_found("repair proposal")
    return row
