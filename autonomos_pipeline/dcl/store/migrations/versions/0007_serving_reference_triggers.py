"""serving tables: statement-level triggers instead of row-level foreign keys to tenants and connections (PostgreSQL)

A foreign key locks its parent row once per inserted row (about 7 µs a row for each of tenant_id and connection_id
in a bulk materialization); these triggers lock the distinct parents once per statement and keep the same rules: a
serving row's tenant and connection exist and cannot go while the inserting transaction is open (FOR KEY SHARE, the
lock a foreign key takes), deleting or truncating a tenant or connection deletes its serving rows, and a referenced
id cannot change. Violations raise SQLSTATE 23503 (foreign_key_violation) like a foreign key. SQLite keeps its
foreign keys, and so do the models (models.ENFORCED_BY_TRIGGERS_ON_POSTGRESQL marks them).

The functions run as the caller (SECURITY INVOKER), so row-level security applies to them as to the caller's own
statements: the application role sees, locks and deletes only its session tenant's rows, which is all it can insert
or delete (its tenant, its connections, their serving rows); the owner and superusers see every row. Unlike a
foreign key, the application role cannot reference another tenant's connection.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVING_TABLES = ("materialized_accounts", "materialized_opportunities", "materialized_contacts")
#: serving column -> the table whose id it references
PARENTS = {"tenant_id": "tenants", "connection_id": "connections"}
#: names resolve in the schema of the migrations, never in a session's temporary tables
SEARCH_PATH = "SET search_path = public, pg_temp"


def _check_parents() -> str:
    """Serving INSERT / UPDATE: lock the distinct parents of the new rows FOR KEY SHARE; fail if one is missing."""
    checks = "".join(
        f"""
          PERFORM FROM {parent} WHERE id = ANY ({column}s) FOR KEY SHARE;
          GET DIAGNOSTICS locked = ROW_COUNT;
          IF locked < cardinality({column}s) THEN
            SELECT ref INTO missing FROM unnest({column}s) AS ref
             WHERE NOT EXISTS (SELECT FROM {parent} WHERE id = ref) LIMIT 1;
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = '{column}',
              MESSAGE = format('insert or update on table "%s" violates foreign key: {column} %s'
                               ' is not present in table "{parent}"', TG_TABLE_NAME, missing);
          END IF;"""
        for column, parent in PARENTS.items()
    )
    return f"""
        CREATE FUNCTION serving_check_parents() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        DECLARE
          tenant_ids uuid[];
          connection_ids uuid[];
          locked bigint;
          missing uuid;
        BEGIN
          SELECT array_agg(DISTINCT tenant_id), array_agg(DISTINCT connection_id) INTO tenant_ids, connection_ids
            FROM (SELECT DISTINCT tenant_id, connection_id FROM new_rows) AS pairs;
          IF tenant_ids IS NULL THEN
            RETURN NULL;
          END IF;{checks}
          RETURN NULL;
        END $$"""


def _delete_serving_rows(column: str, parent: str) -> str:
    """Parent DELETE: delete the serving rows of the deleted parents (ON DELETE CASCADE)."""
    deletes = "".join(
        f"\n          DELETE FROM {table} WHERE {column} IN (SELECT id FROM old_rows);" for table in SERVING_TABLES
    )
    return f"""
        CREATE FUNCTION {parent}_delete_serving_rows() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        BEGIN{deletes}
          RETURN NULL;
        END $$"""


def _keep_serving_keys(column: str, parent: str) -> str:
    """Parent UPDATE: fail when an id that serving rows reference changed (ON UPDATE NO ACTION)."""
    checks = "".join(
        f"""
          SELECT {column} INTO referenced FROM {table} WHERE {column} = ANY (changed) LIMIT 1;
          IF FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = '{table}', COLUMN = '{column}',
              MESSAGE = format('update on table "{parent}" violates foreign key: {column} %s'
                               ' is still referenced from table "{table}"', referenced);
          END IF;"""
        for table in SERVING_TABLES
    )
    return f"""
        CREATE FUNCTION {parent}_keep_serving_keys() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        DECLARE
          changed uuid[];
          referenced uuid;
        BEGIN
          SELECT array_agg(id) INTO changed FROM (SELECT id FROM old_rows EXCEPT SELECT id FROM new_rows) AS gone;
          IF changed IS NULL THEN
            RETURN NULL;
          END IF;{checks}
          RETURN NULL;
        END $$"""


def _truncate_serving_rows() -> str:
    """Parent TRUNCATE (which must cascade to the parent's other children): truncate the serving tables too."""
    return f"""
        CREATE FUNCTION serving_truncate() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        BEGIN
          TRUNCATE {", ".join(SERVING_TABLES)};
          RETURN NULL;
        END $$"""


def upgrade() -> None:
    """Replace the serving tables' foreign keys with the triggers."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_check_parents())
    op.execute(_truncate_serving_rows())
    for table in SERVING_TABLES:
        for column in PARENTS:
            op.drop_constraint(f"{table}_{column}_fkey", table, type_="foreignkey")
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_check_parents_{event.lower()} AFTER {event} ON {table}"
                " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION serving_check_parents()"
            )
    for column, parent in PARENTS.items():
        op.execute(_delete_serving_rows(column, parent))
        op.execute(_keep_serving_keys(column, parent))
        op.execute(
            f"CREATE TRIGGER {parent}_delete_serving_rows AFTER DELETE ON {parent}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {parent}_delete_serving_rows()"
        )
        op.execute(
            f"CREATE TRIGGER {parent}_keep_serving_keys AFTER UPDATE ON {parent}"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {parent}_keep_serving_keys()"
        )
        op.execute(
            f"CREATE TRIGGER {parent}_truncate_serving_rows AFTER TRUNCATE ON {parent}"
            " FOR EACH STATEMENT EXECUTE FUNCTION serving_truncate()"
        )


def downgrade() -> None:
    """Drop the triggers and their functions; restore the foreign keys (which validate every serving row)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent in PARENTS.values():
        for trigger in ("delete_serving_rows", "keep_serving_keys", "truncate_serving_rows"):
            op.execute(f"DROP TRIGGER {parent}_{trigger} ON {parent}")
        op.execute(f"DROP FUNCTION {parent}_delete_serving_rows()")
        op.execute(f"DROP FUNCTION {parent}_keep_serving_keys()")
    for table in SERVING_TABLES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_check_parents_{event} ON {table}")
        for column, parent in PARENTS.items():
            op.create_foreign_key(f"{table}_{column}_fkey", table, parent, [column], ["id"], ondelete="CASCADE")
    op.execute("DROP FUNCTION serving_check_parents()")
    op.execute("DROP FUNCTION serving_truncate()")
