"""serving tables partitioned per tenant and per bulk-loaded connection: a first load indexes once (PostgreSQL)

Each serving table is LIST-partitioned on tenant_id; each tenant's partition (<p>_t_<tenant hex>, created with the
tenant by a trigger) is LIST-partitioned on connection_id with a DEFAULT partition (<p>_d_<tenant hex>) that takes
every row written the ordinary way. A bulk first load of a connection instead fills a table of its own
(<p>_c_<connection hex>) with no index, builds the indexes once, and attaches it as the connection's partition: about
3x faster than maintaining six indexes row by row (serving_begin_load / serving_finish_load). Other tenants' readers
never wait for it; the tenant's own readers wait only for the ATTACH at its end, which locks the tenant's DEFAULT
partition until commit (taken in tries of 200 ms). One load per tenant runs at a time. The rows appear at commit,
already frozen (COPY FREEZE): a REPEATABLE READ transaction older than the load sees them too.

The functions run as the owner (SECURITY DEFINER) because the application role may not create or attach tables;
each one checks that the caller's row-level-security tenant is the tenant it acts for, names every relation with its
schema (a temporary relation must never stand in for one), and only the application role may execute the three it
calls. Deleting a tenant drops its partitions; deleting a connection drops its own partition and deletes its rows
from its tenant's DEFAULT partition only (migration 0007's DELETEs on the parents would lock every partition).
The new tables carry no row-level security and no grant for the application role: it reaches their rows only
through the parents, whose policies apply. A row whose tenant has no partition (the tenant does not exist) lands in
the DEFAULT partition <p>_orphans, whose trigger refuses it with SQLSTATE 23503 as migration 0007's parent check does.

The primary key becomes (tenant_id, id, connection_id): a partitioned table's unique constraints include its
partition keys, and a lookup by tenant and id still finds its row in one index probe. id stays unique on its own
(a uuid5 of tenant, connection and record), and the models keep id as the ORM identity. SQLite keeps its plain
tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 02:30:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: serving table -> (short prefix of its partitions' names, the entity's record id column)
SERVING = {
    "materialized_accounts": ("ma", "account_id"),
    "materialized_opportunities": ("mo", "opportunity_id"),
    "materialized_contacts": ("mc", "contact_id"),
}
#: entity -> its serving table
ENTITIES = {
    "account": "materialized_accounts",
    "opportunity": "materialized_opportunities",
    "contact": "materialized_contacts",
}
SEARCH_PATH = "SET search_path = public, pg_temp"
CURRENT_TENANT = "NULLIF(current_setting('autonomos.tenant_id', true), '')::uuid"


def _role() -> str:
    role = str(context.config.attributes.get("app_role", "autonomos_app"))
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid application role name {role!r}")
    return role


def _functions() -> list[str]:
    """The functions; every relation they name is qualified with public (a session's temporary relations are searched
    before anything a search_path lists after them is missed: pg_temp must never resolve a name here)."""
    parents = " ".join(f"WHEN '{e}' THEN '{t}'" for e, t in ENTITIES.items())
    prefixes = " ".join(f"WHEN '{t}' THEN '{p}'" for t, (p, _) in SERVING.items())
    creates = "".join(
        f"""
          IF to_regclass('public.{p}_t_' || hex) IS NULL THEN
            EXECUTE format('CREATE TABLE public.%I (LIKE public.{t} INCLUDING DEFAULTS)'
                           ' PARTITION BY LIST (connection_id)', '{p}_t_' || hex);
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', '{p}_d_' || hex, '{p}_t_' || hex);
            EXECUTE format('ALTER TABLE public.{t} ATTACH PARTITION public.%I FOR VALUES IN (%L)',
                           '{p}_t_' || hex, tenant);
          END IF;"""
        for t, (p, _) in SERVING.items()
    )
    tenant_drops = "".join(
        f"\n            EXECUTE format('DROP TABLE IF EXISTS public.%I', '{p}_t_' || replace(gone::text, '-', ''));"
        for p, _ in SERVING.values()
    )
    # a connection's rows: its bulk-load partitions dropped, the rest deleted from its tenant's DEFAULT partition only
    # (a DELETE on the parents could not be pruned at plan time and would lock every tenant's partitions)
    connection_clears = "".join(
        f"""
            EXECUTE format('DROP TABLE IF EXISTS public.%I', '{p}_c_' || replace(gone.id::text, '-', ''));
            IF to_regclass('public.{p}_d_' || replace(gone.tenant_id::text, '-', '')) IS NOT NULL THEN
              EXECUTE format('DELETE FROM public.%I WHERE connection_id = %L',
                             '{p}_d_' || replace(gone.tenant_id::text, '-', ''), gone.id);
            END IF;"""
        for p, _ in SERVING.values()
    )
    load_drops = "".join(
        f"""
            IF to_regclass('public.{p}_c_' || replace(conn::text, '-', '')) IS NOT NULL THEN
              EXECUTE format('SELECT count(*) FROM public.%I', '{p}_c_' || replace(conn::text, '-', '')) INTO n;
              dropped := jsonb_set(dropped, '{{{t}}}', to_jsonb(coalesce((dropped ->> '{t}')::bigint, 0) + n));
              EXECUTE format('DROP TABLE public.%I', '{p}_c_' || replace(conn::text, '-', ''));
            END IF;"""
        for t, (p, _) in SERVING.items()
    )
    tenant_locks = "".join(
        f"""
          IF to_regclass('public.{p}_t_' || hex) IS NOT NULL THEN
            EXECUTE format('LOCK TABLE public.%I IN SHARE UPDATE EXCLUSIVE MODE', '{p}_t_' || hex);
          END IF;"""
        for p, _ in SERVING.values()
    )
    return [
        f"""
        CREATE FUNCTION serving_partition_prefix(parent text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE parent {prefixes} END $$""",
        f"""
        CREATE FUNCTION serving_table(entity text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE entity {parents} END $$""",
        # the tenant's partitions of every serving table (idempotent); ATTACH does not block readers
        f"""
        CREATE FUNCTION serving_create_tenant_partitions(tenant uuid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          hex text := replace(tenant::text, '-', '');
        BEGIN
          IF NOT EXISTS (SELECT FROM public.tenants WHERE id = tenant) THEN
            RETURN;
          END IF;{creates}
        END $$""",
        f"""
        CREATE FUNCTION tenants_create_serving_partitions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        BEGIN
          PERFORM serving_create_tenant_partitions(NEW.id);
          RETURN NULL;
        END $$""",
        # a deleted tenant's partitions, rows and all (replaces migration 0007's DELETE of its serving rows)
        f"""
        CREATE FUNCTION tenants_drop_serving_partitions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          gone uuid;
        BEGIN
          FOR gone IN SELECT id FROM old_rows LOOP{tenant_drops}
          END LOOP;
          RETURN NULL;
        END $$""",
        # a deleted connection's serving rows (replaces migration 0007's DELETE on the parents)
        f"""
        CREATE FUNCTION connections_clear_serving_rows() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          gone record;
        BEGIN
          FOR gone IN SELECT id, tenant_id FROM old_rows LOOP{connection_clears}
          END LOOP;
          RETURN NULL;
        END $$""",
        # the caller's tenant's bulk-load partitions (a reset), with the rows dropped per serving table: the next first
        # loads are bulk loads again
        f"""
        CREATE FUNCTION serving_drop_load_partitions(tenant uuid) RETURNS jsonb
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          hex text := replace(tenant::text, '-', '');
          conn uuid;
          n bigint;
          dropped jsonb := '{{}}';
        BEGIN
          IF tenant IS DISTINCT FROM {CURRENT_TENANT} THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
              MESSAGE = format('dropping the partitions of tenant %s needs that tenant''s session', tenant);
          END IF;{tenant_locks}
          FOR conn IN SELECT id FROM public.connections WHERE tenant_id = tenant LOOP{load_drops}
          END LOOP;
          RETURN dropped;
        END $$""",
        f"""
        CREATE FUNCTION serving_refuse_orphan() RETURNS trigger LANGUAGE plpgsql {SEARCH_PATH} AS $$
        BEGIN
          RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = TG_ARGV[0], COLUMN = 'tenant_id',
            MESSAGE = format('insert or update on table "%s" violates foreign key: tenant_id %s'
                             ' is not present in table "tenants"', TG_ARGV[0], NEW.tenant_id);
        END $$""",
        # the caller's tenant, its partitions and (locked FOR KEY SHARE, as a foreign key would) its connection
        f"""
        CREATE FUNCTION serving_load_target(entity text, tenant uuid, connection uuid,
                                            OUT parent text, OUT tenant_part text, OUT default_part text,
                                            OUT load_table text)
        LANGUAGE plpgsql {SEARCH_PATH} AS $$
        DECLARE
          prefix text;
        BEGIN
          IF tenant IS DISTINCT FROM {CURRENT_TENANT} THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
              MESSAGE = format('a load for tenant %s needs that tenant''s session', tenant);
          END IF;
          parent := serving_table(entity);
          IF parent IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = format('no entity %L', entity);
          END IF;
          PERFORM FROM public.tenants WHERE id = tenant FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = parent, COLUMN = 'tenant_id',
              MESSAGE = format('load into table "%s": tenant_id %s is not present in table "tenants"', parent, tenant);
          END IF;
          PERFORM FROM public.connections WHERE id = connection AND tenant_id = tenant FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = parent, COLUMN = 'connection_id',
              MESSAGE = format('load into table "%s": connection_id %s is not present in table "connections"',
                               parent, connection);
          END IF;
          prefix := serving_partition_prefix(parent);
          tenant_part := prefix || '_t_' || replace(tenant::text, '-', '');
          default_part := prefix || '_d_' || replace(tenant::text, '-', '');
          load_table := prefix || '_c_' || replace(connection::text, '-', '');
        END $$""",
        # a table of the serving table's columns for the connection's first load, or NULL when it has rows already;
        # one load per tenant at a time (SHARE UPDATE EXCLUSIVE on its partition: readers and writers go on)
        f"""
        CREATE FUNCTION serving_begin_load(entity text, tenant uuid, connection uuid, source_system text,
                                           materialized_at timestamptz) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          t record;
          served boolean;
        BEGIN
          t := serving_load_target(entity, tenant, connection);
          IF to_regclass('public.' || t.tenant_part) IS NULL OR to_regclass('public.' || t.default_part) IS NULL THEN
            RETURN NULL;
          END IF;
          EXECUTE format('LOCK TABLE public.%I IN SHARE UPDATE EXCLUSIVE MODE', t.tenant_part);
          IF to_regclass('public.' || t.load_table) IS NOT NULL THEN
            IF EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = to_regclass('public.' || t.load_table)) THEN
              RETURN NULL;  -- the connection has its partition
            END IF;
            -- a table a load created but never attached (its transaction committed without finishing)
            EXECUTE format('DROP TABLE public.%I', t.load_table);
          END IF;
          EXECUTE format('SELECT EXISTS (SELECT FROM public.%I WHERE tenant_id = %L AND connection_id = %L)',
                         t.default_part, tenant, connection) INTO served;
          IF served THEN
            RETURN NULL;
          END IF;
          EXECUTE format('CREATE TABLE public.%I (LIKE public.%I INCLUDING DEFAULTS)', t.load_table, t.parent);
          -- the load's constant columns come from defaults, so COPY need not send and parse them for every row
          EXECUTE format('ALTER TABLE public.%I ALTER tenant_id SET DEFAULT %L, ALTER connection_id SET DEFAULT %L,'
                         ' ALTER source_system SET DEFAULT %L, ALTER materialized_at SET DEFAULT %L',
                         t.load_table, tenant, connection, source_system, materialized_at);
          EXECUTE format('GRANT INSERT ON public.%I TO %I', t.load_table, session_user);
          RETURN t.load_table;
        END $$""",
        # check, index and attach the table begun in this transaction; returns its rows
        f"""
        CREATE FUNCTION serving_finish_load(entity text, tenant uuid, connection uuid) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          t record;
          ix record;
          n integer := 0;
          loaded bigint;
          attempt integer := 0;
        BEGIN
          t := serving_load_target(entity, tenant, connection);
          IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                         WHERE c.oid = to_regclass('public.' || t.load_table) AND NOT c.relispartition
                           AND c.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
              MESSAGE = format('no load of connection %s was begun in this transaction', connection);
          END IF;
          EXECUTE format('REVOKE ALL ON public.%I FROM %I', t.load_table, session_user);
          EXECUTE format('ALTER TABLE public.%I ALTER tenant_id DROP DEFAULT, ALTER connection_id DROP DEFAULT,'
                         ' ALTER source_system DROP DEFAULT, ALTER materialized_at DROP DEFAULT', t.load_table);
          PERFORM set_config('maintenance_work_mem', '256MB', true);
          EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I CHECK (tenant_id = %L AND connection_id = %L)',
                         t.load_table, t.load_table || '_owner', tenant, connection);
          FOR ix IN SELECT c.oid, pg_get_constraintdef(c.oid) AS def FROM pg_catalog.pg_constraint c
                    WHERE c.conrelid = ('public.' || t.parent)::regclass AND c.contype IN ('p', 'u')
                    ORDER BY c.conname LOOP
            n := n + 1;
            EXECUTE format('ALTER TABLE public.%I ADD CONSTRAINT %I %s', t.load_table, t.load_table || '_k' || n,
                           ix.def);
          END LOOP;
          FOR ix IN SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_catalog.pg_index i
                    WHERE i.indrelid = ('public.' || t.parent)::regclass
                      AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid)
                    ORDER BY i.indexrelid LOOP
            n := n + 1;
            EXECUTE regexp_replace(ix.def, '^CREATE (UNIQUE )?INDEX \\S+ ON ONLY \\S+',
                                   'CREATE \\1INDEX ' || quote_ident(t.load_table || '_i' || n)
                                   || ' ON public.' || quote_ident(t.load_table));
          END LOOP;
          EXECUTE format('ANALYZE public.%I', t.load_table);
          EXECUTE format('SELECT count(*) FROM public.%I', t.load_table) INTO loaded;
          -- ATTACH locks the tenant's DEFAULT partition ACCESS EXCLUSIVE until commit (it checks that partition holds
          -- none of the connection's rows): wait for it in short tries, so the tenant's readers never queue for long
          PERFORM set_config('lock_timeout', '200ms', true);
          LOOP
            BEGIN
              EXECUTE format('ALTER TABLE public.%I ATTACH PARTITION public.%I FOR VALUES IN (%L)',
                             t.tenant_part, t.load_table, connection);
              EXIT;
            EXCEPTION WHEN lock_not_available THEN
              attempt := attempt + 1;
              IF attempt >= 50 THEN
                RAISE;
              END IF;
              PERFORM pg_sleep(0.1);
            END;
          END LOOP;
          RETURN loaded;
        END $$""",
    ]


FUNCTIONS = (
    "serving_drop_load_partitions(uuid)",
    "connections_clear_serving_rows()",
    "serving_finish_load(text, uuid, uuid)",
    "serving_begin_load(text, uuid, uuid, text, timestamptz)",
    "serving_load_target(text, uuid, uuid)",
    "serving_refuse_orphan()",
    "tenants_drop_serving_partitions()",
    "tenants_create_serving_partitions()",
    "serving_create_tenant_partitions(uuid)",
    "serving_table(text)",
    "serving_partition_prefix(text)",
)
#: what the application role calls; nothing else of the functions is executable by anyone but the owner
APP_FUNCTIONS = (
    "serving_begin_load(text, uuid, uuid, text, timestamptz)",
    "serving_finish_load(text, uuid, uuid)",
    "serving_drop_load_partitions(uuid)",
)


def _rename_indexes(table: str, suffix: str, strip: bool) -> None:
    """Rename every index of table (constraint indexes rename their constraints too) by adding or removing suffix."""
    new = f"left(c.relname, -{len(suffix)})" if strip else f"c.relname || '{suffix}'"
    op.execute(
        f"""
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT c.relname AS old, {new} AS new FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE i.indrelid = '{table}'::regclass LOOP
            EXECUTE format('ALTER INDEX %I RENAME TO %I', r.old, r.new);
          END LOOP;
        END $$"""
    )


def _copy_indexes(source: str, target: str, suffix: str) -> None:
    """Create on target the non-constraint indexes of source, named without suffix."""
    op.execute(
        f"""
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def, c.relname AS name
                   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE i.indrelid = '{source}'::regclass
                     AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid) LOOP
            EXECUTE regexp_replace(r.def, '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+',
                                   'CREATE \\1INDEX ' || quote_ident(left(r.name, -{len(suffix)}))
                                   || ' ON {target}');
          END LOOP;
        END $$"""
    )


def _secure(table: str, role: str) -> None:
    """Row-level security, the application role's grants and migration 0007's parent checks, as on the old table."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {CURRENT_TENANT})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER {table}_check_parents_{event.lower()} AFTER {event} ON {table}"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION serving_check_parents()"
        )


def upgrade() -> None:
    """Rebuild each serving table as a partitioned one with the same rows, policies, grants and checks."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    for statement in _functions():
        op.execute(statement)
    for table, (prefix, record_id) in SERVING.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
        _rename_indexes(f"{table}__old", "__old", strip=False)
        op.execute(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS) PARTITION BY LIST (tenant_id)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (tenant_id, id, connection_id)")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT uq_{table}_identity UNIQUE (tenant_id, connection_id, {record_id})"
        )
        _copy_indexes(f"{table}__old", table, "__old")
        op.execute(f"CREATE TABLE {prefix}_orphans PARTITION OF {table} DEFAULT")
        op.execute(
            f"CREATE TRIGGER {prefix}_orphans_refuse BEFORE INSERT ON {prefix}_orphans"
            f" FOR EACH ROW EXECUTE FUNCTION serving_refuse_orphan('{table}')"
        )
    # the rows move as the owner, whom the tables' forced row-level security would otherwise restrict
    op.execute("ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY")
    op.execute("SELECT serving_create_tenant_partitions(id) FROM tenants")
    op.execute("ALTER TABLE tenants FORCE ROW LEVEL SECURITY")
    for table in SERVING:
        op.execute(f"ALTER TABLE {table}__old NO FORCE ROW LEVEL SECURITY")
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}__old")
        op.execute(f"DROP TABLE {table}__old")
        _secure(table, role)
    op.execute(
        "CREATE TRIGGER tenants_create_serving_partitions AFTER INSERT ON tenants"
        " FOR EACH ROW EXECUTE FUNCTION tenants_create_serving_partitions()"
    )
    # migration 0007's DELETEs on the parents could not be pruned and would lock every tenant's partitions
    for parent in ("tenants", "connections"):
        op.execute(f"DROP TRIGGER {parent}_delete_serving_rows ON {parent}")
    op.execute(
        "CREATE TRIGGER tenants_drop_serving_partitions AFTER DELETE ON tenants"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tenants_drop_serving_partitions()"
    )
    op.execute(
        "CREATE TRIGGER connections_clear_serving_rows AFTER DELETE ON connections REFERENCING OLD TABLE AS"
        " old_rows FOR EACH STATEMENT EXECUTE FUNCTION connections_clear_serving_rows()"
    )
    for function in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    for function in APP_FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")


def downgrade() -> None:
    """Back to plain tables keyed on id, with the same rows, policies, grants and checks."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute("DROP TRIGGER connections_clear_serving_rows ON connections")
    op.execute("DROP TRIGGER tenants_drop_serving_partitions ON tenants")
    for parent in ("tenants", "connections"):
        op.execute(
            f"CREATE TRIGGER {parent}_delete_serving_rows AFTER DELETE ON {parent}"
            f" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {parent}_delete_serving_rows()"
        )
    op.execute("DROP TRIGGER tenants_create_serving_partitions ON tenants")
    for table, (_, record_id) in SERVING.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
        _rename_indexes(f"{table}__old", "__old", strip=False)
        op.execute(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS)")
        op.execute(f"ALTER TABLE {table}__old NO FORCE ROW LEVEL SECURITY")
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}__old")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT uq_{table}_identity UNIQUE (tenant_id, connection_id, {record_id})"
        )
        _copy_indexes(f"{table}__old", table, "__old")
        op.execute(f"DROP TABLE {table}__old CASCADE")
        _secure(table, role)
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
