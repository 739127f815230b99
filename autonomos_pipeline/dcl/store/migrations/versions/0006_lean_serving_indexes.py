"""drop the serving tables' single-column indexes the views' partial indexes make redundant

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: index name -> (table, columns): each bulk upsert paid for these, and every view query uses a tenant-led index.
REDUNDANT: dict[str, tuple[str, tuple[str, ...]]] = {
    "ix_materialized_accounts_industry": ("materialized_accounts", ("industry",)),
    "ix_materialized_accounts_name": ("materialized_accounts", ("tenant_id", "name")),
    "ix_materialized_accounts_owner_id": ("materialized_accounts", ("owner_id",)),
    "ix_materialized_accounts_tenant_id": ("materialized_accounts", ("tenant_id",)),
    "ix_materialized_accounts_updated_at": ("materialized_accounts", ("updated_at",)),
    "ix_materialized_opportunities_name": ("materialized_opportunities", ("tenant_id", "name")),
    "ix_materialized_opportunities_owner_id": ("materialized_opportunities", ("owner_id",)),
    "ix_materialized_opportunities_stage": ("materialized_opportunities", ("stage",)),
    "ix_materialized_opportunities_status": ("materialized_opportunities", ("status",)),
    "ix_materialized_opportunities_tenant_id": ("materialized_opportunities", ("tenant_id",)),
    "ix_materialized_opportunities_updated_at": ("materialized_opportunities", ("updated_at",)),
    "ix_materialized_contacts_email": ("materialized_contacts", ("tenant_id", "email")),
    "ix_materialized_contacts_last_name": ("materialized_contacts", ("tenant_id", "last_name")),
    "ix_materialized_contacts_owner_id": ("materialized_contacts", ("owner_id",)),
    "ix_materialized_contacts_tenant_id": ("materialized_contacts", ("tenant_id",)),
    "ix_materialized_contacts_updated_at": ("materialized_contacts", ("updated_at",)),
}


def upgrade() -> None:
    """Drop the redundant indexes."""
    for name, (table, _) in REDUNDANT.items():
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    """Recreate them."""
    for name, (table, columns) in REDUNDANT.items():
        op.create_index(name, table, list(columns))
