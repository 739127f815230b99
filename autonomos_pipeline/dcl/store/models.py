"""SQLAlchemy 2.0 models of the serving store; every tenant table carries tenant_id and is row-level secured."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the serving store."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class TenantScoped:
    """Mixin of every tenant table: the tenant_id that row-level security and the ORM filter key on."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )


class Tenant(Base):
    """A customer organisation; the unit of isolation and of Dagster partitioning."""

    __tablename__ = "tenants"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(TenantScoped, Base):
    """A person who signs in; belongs to exactly one tenant."""

    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RevokedToken(TenantScoped, Base):
    """A JWT id revoked by logout, kept until the token would have expired."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Connection(TenantScoped, Base):
    """A configured source system of a tenant; secrets are stored encrypted."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_connections_tenant_name"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StreamCursor(TenantScoped, Base):
    """The incremental read position of one stream of one connection."""

    __tablename__ = "stream_cursors"
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(300), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class SchemaSnapshot(TenantScoped, Base):
    """A stream's schema as read at one time, with its fingerprint."""

    __tablename__ = "schema_snapshots"
    __table_args__ = (Index("ix_schema_snapshots_stream", "connection_id", "stream", "captured_at"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64))
    schema_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MappingVersionRow(TenantScoped, Base):
    """An immutable mapping version of (connection, stream) onto an entity; exactly one is active."""

    __tablename__ = "mapping_versions"
    __table_args__ = (
        UniqueConstraint("connection_id", "stream", "version", name="uq_mapping_versions_version"),
        Index(
            "uq_mapping_versions_active",
            "connection_id",
            "stream",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(300))
    entity: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    confidence: Mapped[float] = mapped_column(Numeric(6, 5, asdecimal=False))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DriftEvent(TenantScoped, Base):
    """A detected change between a stream's mapped fingerprint and a newer snapshot."""

    __tablename__ = "drift_events"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(300))
    from_fingerprint: Mapped[str] = mapped_column(String(64))
    to_fingerprint: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    changes: Mapped[list[Any]] = mapped_column(JSON)
    # open -> repaired | awaiting_review -> resolved | rejected
    status: Mapped[str] = mapped_column(String(16), default="open")
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RepairProposal(TenantScoped, Base):
    """A mapping the engine proposes after drift, waiting for a person when it is not sure."""

    __tablename__ = "repair_proposals"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    drift_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("drift_events.id", ondelete="SET NULL"))
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(300))
    entity: Mapped[str] = mapped_column(String(32))
    base_version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    proposed_fields: Mapped[list[Any]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Numeric(6, 5, asdecimal=False))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


ENFORCED_BY_TRIGGERS_ON_POSTGRESQL = "enforced_by_triggers_on_postgresql"
"""ForeignKey.info key of the serving tables' and the quarantine's references: on PostgreSQL, statement-level triggers
enforce them instead of a foreign key (migrations 0007 and 0010; a bulk insert then locks each parent once, not once
per row)."""


class QuarantineRecord(TenantScoped, Base):
    """A source record that could not become canonical, with its raw payload and the reasons."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_stream", "tenant_id", "connection_id", "stream", "status"),)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("tenants.id", ondelete="CASCADE", info={ENFORCED_BY_TRIGGERS_ON_POSTGRESQL: True}),
        nullable=False,
    )  # no index of its own: ix_quarantine_stream leads with tenant_id
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE", info={ENFORCED_BY_TRIGGERS_ON_POSTGRESQL: True})
    )
    stream: Mapped[str] = mapped_column(String(300))
    entity: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    source_record_id: Mapped[str | None] = mapped_column(String(300))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    mapping_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventJournal(TenantScoped, Base):
    """The durable, ordered record of a tenant's lifecycle events (replayed by SSE / WebSocket)."""

    __tablename__ = "event_journal"
    __table_args__ = (Index("ix_event_journal_tenant_id_id", "tenant_id", "id"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MappingMemoryRow(TenantScoped, Base):
    """An approved (source field -> canonical field or none) decision the mapping engine retrieves later."""

    __tablename__ = "mapping_memory"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "key_text", name="uq_mapping_memory_key"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(32))
    key_text: Mapped[str] = mapped_column(String(300))
    source_field: Mapped[str] = mapped_column(String(300))
    canonical_field: Mapped[str | None] = mapped_column(String(64))
    vector: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SharedMappingMemoryRow(Base):
    """Field-name knowledge shared across tenants when the setting allows it: no tenant data, names only."""

    __tablename__ = "shared_mapping_memory"
    __table_args__ = (UniqueConstraint("entity", "key_text", name="uq_shared_mapping_memory_key"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    entity: Mapped[str] = mapped_column(String(32))
    key_text: Mapped[str] = mapped_column(String(300))
    canonical_field: Mapped[str | None] = mapped_column(String(64))
    vector: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


_LIVE = text("is_deleted IS FALSE")

TENANT_KEY_IMPLIED_ON_POSTGRESQL = "tenant_key_implied_on_postgresql"
"""Index.info key of the views' indexes: on PostgreSQL each tenant's rows have partitions of their own (migration
0008), so there these indexes put tenant_id last (migration 0009): a sort whose first key is the same in every row
cannot use abbreviated keys. tenant_id stays in them, so that counting a tenant's rows is an index-only scan."""


def _view_index(name: str, *columns: str) -> Index:
    """A views' index over live rows: tenant_id, then columns (columns, then tenant_id on PostgreSQL, see above)."""
    return Index(
        name,
        "tenant_id",
        *columns,
        postgresql_where=_LIVE,
        sqlite_where=_LIVE,
        info={TENANT_KEY_IMPLIED_ON_POSTGRESQL: True},
    )


class MaterializedBase(TenantScoped):
    """Lineage columns every materialized row carries.

    Indexes are few on purpose (each one costs every bulk upsert): the primary key and the views' partial indexes
    over live rows serve every query. id is the uuid5 of tenant, connection and record id (serve.row_id), so the key
    also keeps one row per source record; migration 0009 dropped the identity constraint that repeated it, and the
    connection index finds a connection's rows (has it any served rows yet? its deletion) without it.
    The references to the tenant and the connection are foreign keys on SQLite and triggers on PostgreSQL.
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey("tenants.id", ondelete="CASCADE", info={ENFORCED_BY_TRIGGERS_ON_POSTGRESQL: True}),
        nullable=False,
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("connections.id", ondelete="CASCADE", info={ENFORCED_BY_TRIGGERS_ON_POSTGRESQL: True})
    )
    source_system: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str] = mapped_column(String(300))
    mapping_version: Mapped[int] = mapped_column(Integer)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    materialized_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MaterializedAccount(MaterializedBase, Base):
    """The serving view of canonical accounts (CANONICAL.md: account)."""

    __tablename__ = "materialized_accounts"
    __table_args__ = (
        Index("ix_accounts_connection", "connection_id", "tenant_id"),
        _view_index("ix_accounts_live_industry", "industry"),
        _view_index("ix_accounts_live_owner_id", "owner_id"),
        _view_index("ix_accounts_live_updated_at_id", "updated_at", "id"),
        _view_index("ix_accounts_live_name_id", "name", "id"),
    )
    account_id: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(500))
    website: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(200))
    employee_count: Mapped[int | None] = mapped_column(BigInteger)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(24, 4))
    phone: Mapped[str | None] = mapped_column(String(64))
    billing_street: Mapped[str | None] = mapped_column(String(500))
    billing_city: Mapped[str | None] = mapped_column(String(200))
    billing_state: Mapped[str | None] = mapped_column(String(200))
    billing_postal_code: Mapped[str | None] = mapped_column(String(32))
    billing_country: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)


class MaterializedOpportunity(MaterializedBase, Base):
    """The serving view of canonical opportunities (CANONICAL.md: opportunity)."""

    __tablename__ = "materialized_opportunities"
    __table_args__ = (
        Index("ix_opportunities_connection", "connection_id", "tenant_id"),
        _view_index("ix_opportunities_live_stage", "stage"),
        _view_index("ix_opportunities_live_status", "status"),
        _view_index("ix_opportunities_live_owner_id", "owner_id"),
        _view_index("ix_opportunities_live_updated_at_id", "updated_at", "id"),
        _view_index("ix_opportunities_live_name_id", "name", "id"),
    )
    opportunity_id: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(500))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(24, 4))
    currency: Mapped[str | None] = mapped_column(String(3))
    stage: Mapped[str | None] = mapped_column(String(200))
    probability: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    close_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(8))
    owner_id: Mapped[str | None] = mapped_column(String(300))
    lead_source: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(200))


class MaterializedContact(MaterializedBase, Base):
    """The serving view of canonical contacts (CANONICAL.md: contact)."""

    __tablename__ = "materialized_contacts"
    __table_args__ = (
        Index("ix_contacts_connection", "connection_id", "tenant_id"),
        _view_index("ix_contacts_live_owner_id", "owner_id"),
        _view_index("ix_contacts_live_updated_at_id", "updated_at", "id"),
        _view_index("ix_contacts_live_last_name_id", "last_name", "id"),
        _view_index("ix_contacts_live_email", "email"),
    )
    contact_id: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[str | None] = mapped_column(String(300))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    mobile_phone: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(300))
    department: Mapped[str | None] = mapped_column(String(200))
    mailing_city: Mapped[str | None] = mapped_column(String(200))
    mailing_country: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(300))
    lead_source: Mapped[str | None] = mapped_column(String(200))


MATERIALIZED_MODELS: dict[str, type[MaterializedBase]] = {
    "account": MaterializedAccount,
    "opportunity": MaterializedOpportunity,
    "contact": MaterializedContact,
}

TENANT_TABLES: tuple[str, ...] = (*tuple(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c), "tenants")

TENANT_KEY_IMPLIED_INDEXES: frozenset[str] = frozenset(
    str(index.name)
    for table in Base.metadata.tables.values()
    for index in table.indexes
    if index.info.get(TENANT_KEY_IMPLIED_ON_POSTGRESQL)
)
"""Names of the indexes PostgreSQL builds with tenant_id last (migration 0009)."""

SERVING_PARTITION = re.compile(r"^m[aoc]_(?:[tdc]_[0-9a-f]{32}|orphans)$")
"""Names of the serving tables' partitions on PostgreSQL (migration 0008): tables the models do not declare."""
