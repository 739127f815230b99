"""serving tables: no identity constraint beside the key, and (PostgreSQL) the constant tenant_id last in indexes

The identity constraint (tenant_id, connection_id, record id) repeated the primary key: a row's id is the uuid5 of
its tenant, connection and record id (serve.row_id), so one row per source record is already what the key keeps.
Upserts and deletion marks now find rows by the key. A narrow index on (connection_id, tenant_id) takes over the
constraint's other use, finding a connection's rows (has it served rows yet, its deletion): about 0.2 s to build
for a million-row bulk load, where the constraint took 0.5 s.

On PostgreSQL each tenant's rows live in partitions of their own (migration 0008), where tenant_id is the same in
every row. Leading an index with it made every sort of an index build compare it first and kept the sort from using
abbreviated keys of the column that differs: the key is now (id, tenant_id, connection_id) (a partitioned table's key
must hold its partition keys) and the views' indexes put tenant_id last (models.TENANT_KEY_IMPLIED_ON_POSTGRESQL).
It stays in them so that a count of a tenant's rows (the tenant filter and the row-level-security policy) is still an
index-only scan; deduplication keeps the indexes of repeated values small. A tenant's queries reach only its
partitions, where they use the indexes alike. SQLite keeps tenant-led indexes: its tables hold every tenant's rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: serving table -> (its record id column, {view index: its columns after tenant_id})
SERVING: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "materialized_accounts": (
        "account_id",
        {
            "ix_accounts_live_industry": ("industry",),
            "ix_accounts_live_owner_id": ("owner_id",),
            "ix_accounts_live_updated_at_id": ("updated_at", "id"),
            "ix_accounts_live_name_id": ("name", "id"),
        },
    ),
    "materialized_opportunities": (
        "opportunity_id",
        {
            "ix_opportunities_live_stage": ("stage",),
            "ix_opportunities_live_status": ("status",),
            "ix_opportunities_live_owner_id": ("owner_id",),
            "ix_opportunities_live_updated_at_id": ("updated_at", "id"),
            "ix_opportunities_live_name_id": ("name", "id"),
        },
    ),
    "materialized_contacts": (
        "contact_id",
        {
            "ix_contacts_live_owner_id": ("owner_id",),
            "ix_contacts_live_updated_at_id": ("updated_at", "id"),
            "ix_contacts_live_last_name_id": ("last_name", "id"),
            "ix_contacts_live_email": ("email",),
        },
    ),
}
LIVE = "is_deleted IS FALSE"


def _rebuild(table: str, key: str, indexes: dict[str, tuple[str, ...]], tenant_led: bool) -> None:
    """Replace the PostgreSQL table's key and view indexes (each recurses to every partition)."""
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
    for name, columns in indexes.items():
        op.execute(f"DROP INDEX {name}")
        keys = ("tenant_id", *columns) if tenant_led else (*columns, "tenant_id")
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(keys)}) WHERE {LIVE}")


def _connection_index(table: str) -> str:
    """The name of a serving table's connection index (ix_accounts_connection for materialized_accounts)."""
    return f"ix_{table.removeprefix('materialized_')}_connection"


def upgrade() -> None:
    """Drop the identity constraints for the connection indexes; on PostgreSQL, key and view indexes with tenant_id
    after what differs."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, (_, indexes) in SERVING.items():
        op.create_index(_connection_index(table), table, ["connection_id", "tenant_id"])
        if postgresql:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT uq_{table}_identity")
            _rebuild(table, "id, tenant_id, connection_id", indexes, tenant_led=False)
        else:
            with op.batch_alter_table(table) as batch:
                batch.drop_constraint(f"uq_{table}_identity", type_="unique")


def downgrade() -> None:
    """Restore the identity constraints and migration 0008's tenant-led key and indexes; drop the connection
    indexes."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, (record_id, indexes) in SERVING.items():
        op.drop_index(_connection_index(table), table_name=table)
        if postgresql:
            _rebuild(table, "tenant_id, id, connection_id", indexes, tenant_led=True)
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT uq_{table}_identity UNIQUE (tenant_id, connection_id, {record_id})"
            )
        else:
            with op.batch_alter_table(table) as batch:
                batch.create_unique_constraint(f"uq_{table}_identity", ["tenant_id", "connection_id", record_id])
