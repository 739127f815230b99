"""indexes for the canonical views: tenant-scoped filters and keyset sorts over live rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("is_deleted IS FALSE")
INDEXES: dict[str, list[tuple[str, ...]]] = {
    "materialized_accounts": [("industry",), ("owner_id",), ("updated_at", "id"), ("name", "id")],
    "materialized_opportunities": [("stage",), ("status",), ("owner_id",), ("updated_at", "id"), ("name", "id")],
    "materialized_contacts": [("owner_id",), ("updated_at", "id"), ("last_name", "id"), ("email",)],
}


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table.removeprefix('materialized_')}_live_{'_'.join(columns)}"


def upgrade() -> None:
    """Partial (live rows only) composite indexes led by tenant_id, matching the views' filters and sorts."""
    for table, index_columns in INDEXES.items():
        for columns in index_columns:
            op.create_index(
                _name(table, columns),
                table,
                ["tenant_id", *columns],
                postgresql_where=LIVE,
                sqlite_where=LIVE,
            )


def downgrade() -> None:
    """Drop the view indexes."""
    for table, index_columns in INDEXES.items():
        for columns in index_columns:
            op.drop_index(_name(table, columns), table_name=table)
