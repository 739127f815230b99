"""Canonical views of accounts, opportunities and contacts: filtered, sorted, keyset-paginated, each read journaled.

The hot read path: one worker-thread hop per request, one Core transaction (tenant bound, token user checked, page
read), the exact total from the per-tenant data-version cache when Redis is configured, the `viewed` event handed to
the batched journal, and the page validated and dumped to JSON by pydantic in one step. The route leaves its event
payload on request.state, so the page cache (api/page_cache.py) can keep the page and serve repeats of the same read
until the tenant's data version or the user's auth version changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import ColumnElement, Connection, Table, func, or_, select

from autonomos_api.api.deps import ClaimsDep, SlotDep, verify_token_user
from autonomos_api.api.page_cache import VIEW_CLAIMS_STATE, VIEW_EVENT_STATE
from autonomos_api.api.pagination import SortKey, keyset_rows
from autonomos_api.core.db import tenant_connection
from autonomos_api.core.errors import not_found
from autonomos_api.core.security import TokenClaims
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
from autonomos_api.services.view_journal import ViewJournal
from autonomos_pipeline.dcl.store import MaterializedAccount, MaterializedContact, MaterializedOpportunity
from autonomos_pipeline.dcl.view_cache import TotalCache

router = APIRouter(prefix="/views", tags=["views"])


@dataclass(frozen=True)
class View:
    """How one entity is served: its table, public shapes, display-name column and the columns text search reads."""

    entity: str
    table: Table
    public: type[BaseModel]
    envelope: type[Page[Any]]
    name_column: str
    search_columns: tuple[str, ...]

    @cached_property
    def columns(self) -> list[Any]:
        """The table columns the public shape shows."""
        return [self.table.c[name] for name in self.public.model_fields]

    @cached_property
    def page_adapter(self) -> TypeAdapter[Any]:
        """Validates and dumps a page of this entity."""
        return TypeAdapter(self.envelope)

    @cached_property
    def row_adapter(self) -> TypeAdapter[Any]:
        """Validates and dumps one row of this entity."""
        return TypeAdapter(self.public)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


ACCOUNTS = View("account", _table(MaterializedAccount), AccountPublic, AccountsPublic, "name", ("name",))
OPPORTUNITIES = View(
    "opportunity", _table(MaterializedOpportunity), OpportunityPublic, OpportunitiesPublic, "name", ("name",)
)
CONTACTS = View(
    "contact",
    _table(MaterializedContact),
    ContactPublic,
    ContactsPublic,
    "last_name",
    ("first_name", "last_name", "email"),
)


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


@dataclass(frozen=True)
class Reader:
    """What a read needs besides its parameters: the token's claims, the journal, and the totals cache."""

    claims: TokenClaims
    journal: ViewJournal
    totals: TotalCache
    state: Any  # the request's state: the route leaves its `viewed` payload there for the page cache

    def record(self, payload: dict[str, Any]) -> None:
        """Journal the read's `viewed` event and leave its payload for the page cache."""
        self.journal.record(self.claims.tenant_id, payload)
        setattr(self.state, VIEW_EVENT_STATE, payload)
        setattr(self.state, VIEW_CLAIMS_STATE, self.claims)


async def get_reader(request: Request, claims: ClaimsDep, _slot: SlotDep) -> Reader:
    """The caller's reader, once a database slot is free (async: no worker thread)."""
    return Reader(claims, request.app.state.view_journal, request.app.state.view_totals, request.state)


ReaderDep = Annotated[Reader, Depends(get_reader)]


def _sort_key(view: View, sort: Sort) -> SortKey:
    by_name = sort in (Sort.NAME, Sort.NAME_DESC)
    return SortKey(
        name=sort.value,
        column=view.table.c[view.name_column] if by_name else view.table.c.updated_at,
        id_column=view.table.c.id,
        descending=sort.value.startswith("-"),
        nullable=not by_name,
        is_datetime=not by_name,
    )


def _utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def _live(view: View, tenant_id: uuid.UUID) -> list[ColumnElement[bool]]:
    c = view.table.c
    return [c.tenant_id == tenant_id, c.is_deleted.is_(False)]  # the partial indexes' predicate


def _filters(view: View, tenant_id: uuid.UUID, params: ListParams, equal: dict[str, Any]) -> list[ColumnElement[bool]]:
    c = view.table.c
    conditions = _live(view, tenant_id)
    conditions += [c[column] == value for column, value in equal.items()]
    if params.updated_since is not None:
        conditions.append(c.updated_at >= _utc(params.updated_since))
    if params.q:
        conditions.append(or_(*(c[name].icontains(params.q, autoescape=True) for name in view.search_columns)))
    return conditions


def _total(
    connection: Connection, view: View, reader: Reader, conditions: list[ColumnElement[bool]], query: dict[str, Any]
) -> int:
    """The exact number of matching rows: cached under the tenant's data version, counted when not cached."""
    tenant = reader.claims.tenant_id
    version, cached = reader.totals.lookup(tenant, query)  # before counting: the count sees this version's rows
    if cached is not None:
        return cached
    total = int(connection.scalar(select(func.count()).select_from(view.table).where(*conditions)) or 0)
    if version is not None:
        reader.totals.put(tenant, version, query, total)
    return total


def _read_page(view: View, reader: Reader, params: ListParams, extra: dict[str, Any]) -> bytes:
    claims = reader.claims
    equal = {k: v for k, v in {"owner_id": params.owner_id, **extra}.items() if v is not None}
    conditions = _filters(view, claims.tenant_id, params, equal)
    since = _utc(params.updated_since).isoformat() if params.updated_since else None
    query = {"entity": view.entity, "q": params.q, "updated_since": since, **equal}
    key = _sort_key(view, params.sort)
    with tenant_connection(claims.tenant_id) as connection:
        verify_token_user(connection, claims)
        total = _total(connection, view, reader, conditions, query)
        page_query = select(*view.columns).where(*conditions)
        rows, next_cursor = keyset_rows(connection, page_query, key, params.limit, params.cursor)
    filters = {k: v for k, v in {"q": params.q, **equal}.items() if v is not None}
    payload = {"user_id": str(claims.user_id), "entity": view.entity, "rows": len(rows), "total": total}
    reader.record({**payload, "filters": filters})
    page = view.page_adapter.validate_python(
        {"data": rows, "total": total, "next_cursor": next_cursor}, from_attributes=True
    )
    return view.page_adapter.dump_json(page)


def _read_one(view: View, reader: Reader, row_id: uuid.UUID) -> bytes:
    claims = reader.claims
    with tenant_connection(claims.tenant_id) as connection:
        verify_token_user(connection, claims)
        conditions = [*_live(view, claims.tenant_id), view.table.c.id == row_id]
        row = connection.execute(select(*view.columns).where(*conditions)).first()
    if row is None:
        raise not_found(view.entity)
    reader.record({"user_id": str(claims.user_id), "entity": view.entity, "id": str(row_id)})
    return view.row_adapter.dump_json(view.row_adapter.validate_python(row, from_attributes=True))


async def _list(view: View, reader: Reader, params: ListParams, extra: dict[str, Any]) -> Response:
    content = await run_in_threadpool(_read_page, view, reader, params, extra)
    return Response(content, media_type="application/json")


async def _one(view: View, reader: Reader, row_id: uuid.UUID) -> Response:
    content = await run_in_threadpool(_read_one, view, reader, row_id)
    return Response(content, media_type="application/json")


@router.get("/accounts", response_model=AccountsPublic)
async def list_accounts(
    reader: ReaderDep, params: ListParamsDep, industry: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    """Canonical accounts of the tenant: filter, search, sort and page through them."""
    return await _list(ACCOUNTS, reader, params, {"industry": industry})


@router.get("/accounts/{account_id}", response_model=AccountPublic)
async def get_account(account_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One canonical account with its lineage."""
    return await _one(ACCOUNTS, reader, account_id)


@router.get("/opportunities", response_model=OpportunitiesPublic)
async def list_opportunities(
    reader: ReaderDep,
    params: ListParamsDep,
    stage: Annotated[str | None, Query(max_length=200)] = None,
    status: OpportunityStatus | None = None,
    account_id: Annotated[str | None, Query(max_length=300, description="source id of the account")] = None,
) -> Response:
    """Canonical opportunities of the tenant: filter, search, sort and page through them."""
    extra = {"stage": stage, "status": status.value if status else None, "account_id": account_id}
    return await _list(OPPORTUNITIES, reader, params, extra)


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityPublic)
async def get_opportunity(opportunity_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One canonical opportunity with its lineage."""
    return await _one(OPPORTUNITIES, reader, opportunity_id)


@router.get("/contacts", response_model=ContactsPublic)
async def list_contacts(
    reader: ReaderDep,
    params: ListParamsDep,
    account_id: Annotated[str | None, Query(max_length=300, description="source id of the account")] = None,
) -> Response:
    """Canonical contacts of the tenant: filter, search (names and e-mails), sort and page through them."""
    return await _list(CONTACTS, reader, params, {"account_id": account_id})


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
async def get_contact(contact_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One canonical contact with its lineage."""
    return await _one(CONTACTS, reader, contact_id)
