"""A migrated serving store under test, and factories for tenants and rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection as DBConnection
from sqlalchemy import Engine, func, select

from autonomos_pipeline.dcl.secrets import encrypt_secrets
from autonomos_pipeline.dcl.store import Connection, Tenant, get_engine, tenant_session
from autonomos_pipeline.dcl.store.db import TENANT_SETTING


@dataclass(frozen=True)
class Store:
    """URLs of a migrated store: admin (owner, migrations) and app (what the platform connects as)."""

    admin_url: str
    app_url: str

    @property
    def app_engine(self) -> Engine:
        """The shared engine of the application URL."""
        return get_engine(self.app_url)


def make_tenant(store: Store, name: str) -> uuid.UUID:
    """Create a tenant (inside its own tenant transaction, as row-level security requires)."""
    tid = uuid.uuid4()
    with tenant_session(tid, store.app_engine) as s:
        s.add(Tenant(id=tid, name=name, slug=f"{name.lower()}-{tid.hex[:8]}", created_at=datetime.now(UTC)))
    return tid


def make_connection(
    store: Store,
    tenant_id: uuid.UUID,
    name: str = "files",
    type_: str = "filesource",
    config: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Create a connection of tenant_id (secrets encrypted as the platform stores them)."""
    cid = uuid.uuid4()
    with tenant_session(tenant_id, store.app_engine) as s:
        s.add(
            Connection(
                id=cid,
                tenant_id=tenant_id,
                name=name,
                type=type_,
                config=config or {},
                secrets_encrypted=encrypt_secrets(secrets) if secrets else None,
            )
        )
    return cid


def bind_tenant(conn: DBConnection, tenant_id: uuid.UUID) -> None:
    """Set the row-level-security tenant for conn's transaction, as the platform's sessions do."""
    conn.execute(select(func.set_config(TENANT_SETTING, str(tenant_id), True)))
