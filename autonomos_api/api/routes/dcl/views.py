"""Canonical views of accounts, opportunities and contacts: filtered, sorted, keyset-paginated, each read journaled."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.orm import Session

from autonomos_api.api.deps import CurrentUser, SessionDep
from autonomos_api.api.pagination import SortKey, keyset_page
from autonomos_api.core.errors import not_found
from autonomos_api.models.common import Page
from autonomos_api.models.views import (
    AccountPublic,
    AccountsPublic,
    ContactPublic,
    ContactsPublic,
    OpportunitiesPublic,
    OpportunityPublic,
    OpportunityStatus,
    Sort,
)
from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.dcl.store import MaterializedAccount, MaterializedContact, MaterializedOpportunity, User
from autonomos_pipeline.dcl.store.models import MaterializedBase

router = APIRouter(prefix="/views", tags=["views"])


@dataclass(frozen=True)
class View:
    """How one entity is served: its table, display-name column and the columns text search looks at."""

    entity: str
    model: type[MaterializedBase]
    name_column: str
    search_columns: tuple[str, ...]


ACCOUNTS = View("account", MaterializedAccount, "name", ("name",))
OPPORTUNITIES = View("opportunity", MaterializedOpportunity, "name", ("name",))
CONTACTS = View("contact", MaterializedContact, "last_name", ("first_name", "last_name", "email"))


@dataclass(frozen=True)
class ListParams:
    """Query parameters every view list accepts."""

    limit: int
    cursor: str | None
    sort: Sort
    q: str | None
    owner_id: str | None
    updated_since: datetime | None


async def list_params(
    limit: Annotated[int, Query(ge=1, le=500, description="rows per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")] = None,
    sort: Annotated[Sort, Query(description="name or updated_at; a leading - sorts descending")] = Sort.NAME,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="case-insensitive search")] = None,
    owner_id: Annotated[str | None, Query(max_length=300)] = None,
    updated_since: Annotated[datetime | None, Query(description="ISO 8601; without offset means UTC")] = None,
) -> ListParams:
    """Collect the shared list parameters."""
    return ListParams(limit, cursor, sort, q, owner_id, updated_since)


ListParamsDep = Annotated[ListParams, Depends(list_params)]


def _sort_key(view: View, sort: Sort) -> SortKey:
    model: Any = view.model
    by_name = sort in (Sort.NAME, Sort.NAME_DESC)
    return SortKey(
        name=sort.value,
        column=getattr(model, view.name_column) if by_name else model.updated_at,
        id_column=model.id,
        descending=sort.value.startswith("-"),
        nullable=not by_name,
        is_datetime=not by_name,
    )


def _utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _filters(view: View, user: User, params: ListParams, extra: dict[str, Any]) -> list[ColumnElement[bool]]:
    model: Any = view.model
    conditions: list[ColumnElement[bool]] = [model.tenant_id == user.tenant_id, model.is_deleted.is_(False)]
    for column, value in {"owner_id": params.owner_id, **extra}.items():
        if value is not None:
            conditions.append(getattr(model, column) == value)
    if params.updated_since is not None:
        conditions.append(model.updated_at >= _utc(params.updated_since))
    if params.q:
        conditions.append(or_(*(getattr(model, c).icontains(params.q, autoescape=True) for c in view.search_columns)))
    return conditions


def _journal_view(session: Session, user: User, payload: dict[str, Any]) -> None:
    """Publish the `viewed` event in the request's transaction and commit it.

    On PostgreSQL the commit does not wait for the WAL flush: a crash can lose the last view events, never data.
    """
    publish(session, user.tenant_id, "viewed", {"user_id": str(user.id), **payload})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.commit()


def _list(
    view: View,
    envelope: type[Page[Any]],
    public: type[BaseModel],
    session: Session,
    user: User,
    params: ListParams,
    extra: dict[str, Any],
) -> Page[Any]:
    conditions = _filters(view, user, params, extra)
    total = session.scalar(select(func.count()).select_from(view.model).where(*conditions)) or 0
    key = _sort_key(view, params.sort)
    rows, next_cursor = keyset_page(session, select(view.model).where(*conditions), key, params.limit, params.cursor)
    data = [public.model_validate(row) for row in rows]
    filters = {k: v for k, v in {"q": params.q, "owner_id": params.owner_id, **extra}.items() if v is not None}
    _journal_view(session, user, {"entity": view.entity, "rows": len(data), "total": total, "filters": filters})
    return envelope(data=data, total=total, next_cursor=next_cursor)


def _one(view: View, public: type[BaseModel], session: Session, user: User, row_id: uuid.UUID) -> Any:
    model: Any = view.model
    row = session.scalars(
        select(model).where(model.id == row_id, model.tenant_id == user.tenant_id, model.is_deleted.is_(False))
    ).first()
    if row is None:
        raise not_found(view.entity)
    result = public.model_validate(row)
    _journal_view(session, user, {"entity": view.entity, "id": str(row_id)})
    return result


@router.get("/accounts", response_model=AccountsPublic)
def list_accounts(
    user: CurrentUser,
    session: SessionDep,
    params: ListParamsDep,
    industry: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[Any]:
    """Canonical accounts of the tenant: filter, search, sort and page through them."""
    return _list(ACCOUNTS, AccountsPublic, AccountPublic, session, user, params, {"industry": industry})


@router.get("/accounts/{account_id}", response_model=AccountPublic)
def get_account(account_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Any:
    """One canonical account with its lineage."""
    return _one(ACCOUNTS, AccountPublic, session, user, account_id)


@router.get("/opportunities", response_model=OpportunitiesPublic)
def list_opportunities(
    user: CurrentUser,
    session: SessionDep,
    params: ListParamsDep,
    stage: Annotated[str | None, Query(max_length=200)] = None,
    status: OpportunityStatus | None = None,
    account_id: Annotated[str | None, Query(max_length=300, description="source id of the account")] = None,
) -> Page[Any]:
    """Canonical opportunities of the tenant: filter, search, sort and page through them."""
    extra = {"stage": stage, "status": status.value if status else None, "account_id": account_id}
    return _list(OPPORTUNITIES, OpportunitiesPublic, OpportunityPublic, session, user, params, extra)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityPublic)
def get_opportunity(opportunity_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Any:
    """One canonical opportunity with its lineage."""
    return _one(OPPORTUNITIES, OpportunityPublic, session, user, opportunity_id)


@router.get("/contacts", response_model=ContactsPublic)
def list_contacts(
    user: CurrentUser,
    session: SessionDep,
    params: ListParamsDep,
    account_id: Annotated[str | None, Query(max_length=300, description="source id of the account")] = None,
) -> Page[Any]:
    """Canonical contacts of the tenant: filter, search (names and e-mails), sort and page through them."""
    return _list(CONTACTS, ContactsPublic, ContactPublic, session, user, params, {"account_id": account_id})


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Any:
    """One canonical contact with its lineage."""
    return _one(CONTACTS, ContactPublic, session, user, contact_id)
