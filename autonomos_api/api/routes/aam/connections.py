"""Connections of the tenant: create, list, read, change, delete; check and discover through the connector."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autonomos_api.api.deps import AdminUser, CurrentUser, MemberUser, SessionDep, SettingsDep
from autonomos_api.api.pagination import SortKey, keyset_page
from autonomos_api.core.errors import APIError, not_found
from autonomos_api.models.common import Message
from autonomos_api.models.connections import (
    CheckPublic,
    ConnectionCreate,
    ConnectionPublic,
    ConnectionsPublic,
    ConnectionUpdate,
    ConnectorType,
    DiscoverPublic,
    FieldPublic,
    StreamPublic,
)
from autonomos_api.services import connections as service
from autonomos_api.services.partitions import register_tenant_partition
from autonomos_pipeline.dcl.store import Connection, User
from autonomos_pipeline.dcl.view_cache import bump_data_version

router = APIRouter(prefix="/connections", tags=["connections"])

_BY_NAME = SortKey(name="name", column=Connection.name, id_column=Connection.id)


def _public(connection: Connection) -> ConnectionPublic:
    return ConnectionPublic(
        id=connection.id,
        name=connection.name,
        type=ConnectorType(connection.type),
        config=connection.config,
        refresh_interval_minutes=connection.refresh_interval_minutes,
        is_active=connection.is_active,
        has_secrets=bool(connection.secrets_encrypted),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def _get(session: Session, user: User, connection_id: uuid.UUID) -> Connection:
    connection = session.scalars(
        select(Connection).where(Connection.id == connection_id, Connection.tenant_id == user.tenant_id)
    ).first()
    if connection is None:
        raise not_found("connection")
    return connection


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise APIError(409, "name_taken", "the tenant already has a connection with this name") from None


@router.post("", response_model=ConnectionPublic, status_code=status.HTTP_201_CREATED)
def create_connection(
    body: ConnectionCreate, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> ConnectionPublic:
    """Add a connection; its secrets are encrypted, and the tenant's Dagster partition is registered."""
    secrets = body.secrets or {}
    config = service.validate(settings, str(admin.tenant_id), body.type.value, body.config, secrets)
    connection = Connection(
        tenant_id=admin.tenant_id,
        name=body.name,
        type=body.type.value,
        config=config,
        secrets_encrypted=service.seal(settings, secrets),
        refresh_interval_minutes=body.refresh_interval_minutes,
        is_active=body.is_active,
    )
    session.add(connection)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise APIError(409, "name_taken", "the tenant already has a connection with this name") from None
    try:
        register_tenant_partition(admin.tenant_id)
    except Exception as exc:
        raise APIError(503, "dagster_unavailable", f"the tenant's run partition cannot be registered: {exc}") from None
    _commit(session)
    return _public(connection)


@router.get("", response_model=ConnectionsPublic)
def list_connections(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ConnectionsPublic:
    """The tenant's connections, by name."""
    query = select(Connection).where(Connection.tenant_id == user.tenant_id)
    total = session.scalar(select(func.count()).select_from(Connection).where(Connection.tenant_id == user.tenant_id))
    rows, next_cursor = keyset_page(session, query, _BY_NAME, limit, cursor)
    return ConnectionsPublic(data=[_public(c) for c in rows], total=total or 0, next_cursor=next_cursor)


@router.get("/{connection_id}", response_model=ConnectionPublic)
def get_connection(connection_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ConnectionPublic:
    """One connection (its secrets are never returned)."""
    return _public(_get(session, user, connection_id))


@router.patch("/{connection_id}", response_model=ConnectionPublic)
def update_connection(
    connection_id: uuid.UUID, body: ConnectionUpdate, admin: AdminUser, session: SessionDep, settings: SettingsDep
) -> ConnectionPublic:
    """Change a connection; `config` replaces the config, `secrets` are merged (null removes one)."""
    connection = _get(session, admin, connection_id)
    config = body.config if body.config is not None else connection.config
    secrets = service.unseal(settings, connection)
    for key, value in (body.secrets or {}).items():
        if value is None:
            secrets.pop(key, None)
        else:
            secrets[key] = value
    config = service.validate(settings, str(admin.tenant_id), connection.type, config, secrets)
    connection.config = config
    if body.secrets is not None:
        connection.secrets_encrypted = service.seal(settings, secrets)
    if body.name is not None:
        connection.name = body.name
    if body.refresh_interval_minutes is not None:
        connection.refresh_interval_minutes = body.refresh_interval_minutes
    if body.is_active is not None:
        connection.is_active = body.is_active
    _commit(session)
    return _public(connection)


@router.delete("/{connection_id}", response_model=Message)
def delete_connection(connection_id: uuid.UUID, admin: AdminUser, session: SessionDep) -> Message:
    """Delete a connection with its mappings, drift history and served rows."""
    session.delete(_get(session, admin, connection_id))
    session.commit()
    bump_data_version(admin.tenant_id)  # its served rows went with it: cached view totals are stale
    return Message(message="connection deleted")


@router.post("/{connection_id}/check", response_model=CheckPublic)
def check_connection(
    connection_id: uuid.UUID, user: MemberUser, session: SessionDep, settings: SettingsDep
) -> CheckPublic:
    """Ask the source whether it answers and can be read with this connection's settings."""
    connection = _get(session, user, connection_id)
    result = service.check(settings, connection)
    return CheckPublic(ok=result.ok, reason=result.reason)


@router.post("/{connection_id}/discover", response_model=DiscoverPublic)
def discover_connection(
    connection_id: uuid.UUID, user: MemberUser, session: SessionDep, settings: SettingsDep
) -> DiscoverPublic:
    """List the source's streams with their fields, keys and schema fingerprints."""
    connection = _get(session, user, connection_id)
    schemas = service.discover(settings, connection)
    streams = [
        StreamPublic(
            stream=s.stream,
            fingerprint=s.fingerprint,
            primary_key=s.primary_key,
            cursor_field=s.cursor_field,
            fields=[FieldPublic(name=f.name, type=f.type.value, nullable=f.nullable) for f in s.fields],
        )
        for s in schemas
    ]
    return DiscoverPublic(connection_id=connection.id, streams=streams)
