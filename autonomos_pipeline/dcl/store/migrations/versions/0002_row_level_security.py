"""row-level security on every tenant table, and the application role that cannot bypass it

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:50:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "users",
    "revoked_tokens",
    "connections",
    "stream_cursors",
    "schema_snapshots",
    "mapping_versions",
    "drift_events",
    "repair_proposals",
    "quarantine",
    "event_journal",
    "materialized_accounts",
    "materialized_opportunities",
    "materialized_contacts",
)
CURRENT_TENANT = "NULLIF(current_setting('autonomos.tenant_id', true), '')::uuid"
AUTH_EMAIL = "NULLIF(current_setting('autonomos.auth_email', true), '')"


def _role() -> str:
    role = str(context.config.attributes.get("app_role", "autonomos_app"))
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid application role name {role!r}")
    return role


def upgrade() -> None:
    """Create the app role (NOSUPERUSER NOBYPASSRLS), grant it the tables, and force a tenant policy on each."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END
        $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"GRANT SELECT ON alembic_version TO {role}")

    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON tenants USING (id = {CURRENT_TENANT})")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {CURRENT_TENANT})")
    # Login happens before the tenant is known: a login transaction may read only the user with its e-mail.
    op.execute(f"CREATE POLICY login_lookup ON users FOR SELECT USING (email = {AUTH_EMAIL})")


def downgrade() -> None:
    """Drop the policies and turn row-level security off (the role is kept: other databases may use it)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY IF EXISTS login_lookup ON users")
    for table in ("tenants", *TENANT_TABLES):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
