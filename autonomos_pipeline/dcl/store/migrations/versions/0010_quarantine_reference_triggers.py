"""quarantine: statement-level triggers instead of row-level foreign keys (PostgreSQL), one index fewer

Migration 0007 did this for the serving tables. A quarantine write is a bulk insert too (one batch's rejected rows,
or every row of a stream waiting for a mapping review), and its two foreign keys cost about 45% of it: each locks its
parent row once per inserted row. The triggers lock the distinct parents once per statement (0007's
serving_check_parents, FOR KEY SHARE as a foreign key does) and keep the same rules: a quarantined row's tenant and
connection exist, deleting or truncating them deletes its rows, and a referenced id cannot change. Violations raise
SQLSTATE 23503 (foreign_key_violation) like a foreign key. The functions run as the caller (SECURITY INVOKER), so
row-level security applies as to the caller's own statements. SQLite keeps its foreign keys, and so do the models
(models.ENFORCED_BY_TRIGGERS_ON_POSTGRESQL marks them).

On both, the quarantine loses ix_quarantine_tenant_id: ix_quarantine_stream leads with tenant_id and serves every
query the other did, and each quarantined row paid for both.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_PATH = "SET search_path = public, pg_temp"
#: quarantine column -> (the table whose id it references, the rows a DELETE of that table's old_rows removes)
PARENTS = {
    "tenant_id": ("tenants", "q.tenant_id = o.id"),
    "connection_id": ("connections", "q.tenant_id = o.tenant_id AND q.connection_id = o.id"),  # ix_quarantine_stream
}


def _functions(column: str, parent: str, matches: str) -> list[str]:
    """The parent's DELETE (cascade) and UPDATE (no action) functions for the quarantine."""
    return [
        f"""
        CREATE FUNCTION {parent}_delete_quarantine() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        BEGIN
          DELETE FROM public.quarantine q USING old_rows o WHERE {matches};
          RETURN NULL;
        END $$""",
        f"""
        CREATE FUNCTION {parent}_keep_quarantine_keys() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        DECLARE
          changed uuid[];
          referenced uuid;
        BEGIN
          SELECT array_agg(id) INTO changed FROM (SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows) AS gone;
          IF changed IS NULL THEN
            RETURN NULL;
          END IF;
          SELECT {column} INTO referenced FROM public.quarantine WHERE {column} = ANY (changed) LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = 'quarantine', COLUMN = '{column}',
              MESSAGE = format('update on table "{parent}" violates foreign key: {column} %s'
                               ' is still referenced from table "quarantine"', referenced);
          END IF;
          RETURN NULL;
        END $$""",
    ]


def upgrade() -> None:
    """Drop the redundant index; on PostgreSQL, replace the quarantine's foreign keys with the triggers."""
    op.drop_index("ix_quarantine_tenant_id", table_name="quarantine")
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in PARENTS:
        op.drop_constraint(f"quarantine_{column}_fkey", "quarantine", type_="foreignkey")
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER quarantine_parents_on_{event.lower()} AFTER {event} ON quarantine"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION serving_check_parents()"
        )
    op.execute(
        f"""
        CREATE FUNCTION quarantine_truncate() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        BEGIN
          TRUNCATE public.quarantine;
          RETURN NULL;
        END $$"""
    )
    for column, (parent, matches) in PARENTS.items():
        for statement in _functions(column, parent, matches):
            op.execute(statement)
        op.execute(
            f"CREATE TRIGGER {parent}_delete_quarantine AFTER DELETE ON {parent}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {parent}_delete_quarantine()"
        )
        op.execute(
            f"CREATE TRIGGER {parent}_keep_quarantine_keys AFTER UPDATE ON {parent}"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {parent}_keep_quarantine_keys()"
        )
        op.execute(
            f"CREATE TRIGGER {parent}_truncate_quarantine AFTER TRUNCATE ON {parent}"
            " FOR EACH STATEMENT EXECUTE FUNCTION quarantine_truncate()"
        )


def downgrade() -> None:
    """Restore the index; on PostgreSQL, drop the triggers and their functions and restore the foreign keys (which
    validate every quarantined row)."""
    op.create_index("ix_quarantine_tenant_id", "quarantine", ["tenant_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent, _ in PARENTS.values():
        for trigger in ("delete_quarantine", "keep_quarantine_keys", "truncate_quarantine"):
            op.execute(f"DROP TRIGGER {parent}_{trigger} ON {parent}")
        op.execute(f"DROP FUNCTION {parent}_delete_quarantine()")
        op.execute(f"DROP FUNCTION {parent}_keep_quarantine_keys()")
    op.execute("DROP FUNCTION quarantine_truncate()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER quarantine_parents_on_{event} ON quarantine")
    for column, (parent, _) in PARENTS.items():
        op.create_foreign_key(f"quarantine_{column}_fkey", "quarantine", parent, [column], ["id"], ondelete="CASCADE")
