"""serving tables partitioned per tenant and per bulk-loaded connection: a first load indexes once (PostgreSQL)

Each serving table is LIST-partitioned on tenant_id; each tenant's partition (<p>_t_<tenant hex>, created with the
tenant by a trigger) is LIST-partitioned on connection_id with a DEFAULT partition (<p>_d_<tenant hex>) that takes
every row written the ordinary way. A bulk first load of a connection instead fills a table of its own
(<p>_c_<connection hex>) with no index, builds the indexes once, and attaches it as the connection's partition: about
3x faster than maintaining six indexes row by row (serving_begin_load / serving_finish_load). Readers never wait for
it: ATTACH locks the tenant's partition SHARE UPDATE EXCLUSIVE, and the rows appear at commit.

The functions run as the owner (SECURITY DEFINER) because the application role may not create or attach tables;
each one checks that the caller's row-level-security tenant is the tenant it acts for. The new tables carry no
row-level security and no grant for the application role: it reaches their rows only through the parents, whose
policies apply. A row whose tenant has no partition (the tenant does not exist) lands in the DEFAULT partition
<p>_orphans, whose trigger refuses it with SQLSTATE 23503 as migration 0007's parent check does.

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
ENTITIES = {"account": "materialized_accounts", "opportunity": "materialized_opportunities"}
ENTITIES["contact"] = "materialized_contacts"
SEARCH_PATH = "SET search_path = public, pg_temp"
CURRENT_TENANT = "NULLIF(current_setting('autonomos.tenant_id', true), '')::uuid"


def _role() -> str:
    role = str(context.config.attributes.get("app_role", "autonomos_app"))
    if not role.replace("_", "").isalnum():
        raise ValueError(f"invalid application role name {role!r}")
    return role


def _functions() -> list[str]:
    parents = " ".join(f"WHEN '{e}' THEN '{t}'" for e, t in ENTITIES.items())
    prefixes = " ".join(f"WHEN '{t}' THEN '{p}'" for t, (p, _) in SERVING.items())
    creates = "".join(
        f"""
          IF to_regclass('{p}_t_' || hex) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE {t} INCLUDING DEFAULTS) PARTITION BY LIST (connection_id)',
                           '{p}_t_' || hex);
            EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', '{p}_d_' || hex, '{p}_t_' || hex);
            EXECUTE format('ALTER TABLE {t} ATTACH PARTITION %I FOR VALUES IN (%L)', '{p}_t_' || hex, tenant);
          END IF;"""
        for t, (p, _) in SERVING.items()
    )
    drops = "".join(
        f"\n            EXECUTE format('DROP TABLE IF EXISTS %I', '{p}_t_' || replace(gone::text, '-', ''));"
        for p, _ in SERVING.values()
    )
    connection_drops = "".join(
        f"\n            EXECUTE format('DROP TABLE IF EXISTS %I', '{p}_c_' || replace(gone::text, '-', ''));"
        for p, _ in SERVING.values()
    )
    tenant_parts = ", ".join(f"to_regclass('{p}_t_' || replace(tenant::text, '-', ''))" for p, _ in SERVING.values())
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
        BEGIN{creates}
        END $$""",
        f"""
        CREATE FUNCTION tenants_create_serving_partitions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        BEGIN
          PERFORM serving_create_tenant_partitions(NEW.id);
          RETURN NULL;
        END $$""",
        f"""
        CREATE FUNCTION tenants_drop_serving_partitions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          gone uuid;
        BEGIN
          FOR gone IN SELECT id FROM old_rows LOOP{drops}
          END LOOP;
          RETURN NULL;
        END $$""",
        # a deleted connection's bulk-load partitions (their rows went with the connection)
        f"""
        CREATE FUNCTION connections_drop_serving_partitions() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          gone uuid;
        BEGIN
          FOR gone IN SELECT id FROM old_rows LOOP{connection_drops}
          END LOOP;
          RETURN NULL;
        END $$""",
        # the caller's tenant's bulk-load partitions, emptied (a reset): the next first loads are bulk loads again
        f"""
        CREATE FUNCTION serving_drop_load_partitions(tenant uuid) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          part record;
          dropped integer := 0;
        BEGIN
          IF tenant IS DISTINCT FROM {CURRENT_TENANT} THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
              MESSAGE = format('dropping the partitions of tenant %s needs that tenant''s session', tenant);
          END IF;
          FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                      WHERE i.inhparent IN ({tenant_parts}) AND c.relname ~ '^m[aoc]_c_' LOOP
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
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
          PERFORM FROM tenants WHERE id = tenant FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', TABLE = parent, COLUMN = 'tenant_id',
              MESSAGE = format('load into table "%s": tenant_id %s is not present in table "tenants"', parent, tenant);
          END IF;
          PERFORM FROM connections WHERE id = connection AND tenant_id = tenant FOR KEY SHARE;
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
        # a table of the serving table's columns for the connection's first load, or NULL when it has rows already
        f"""
        CREATE FUNCTION serving_begin_load(entity text, tenant uuid, connection uuid, source_system text,
                                           materialized_at timestamptz) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          t record;
          served boolean;
        BEGIN
          t := serving_load_target(entity, tenant, connection);
          PERFORM pg_advisory_xact_lock(hashtextextended(t.load_table, 0));
          IF to_regclass(t.load_table) IS NOT NULL OR to_regclass(t.default_part) IS NULL THEN
            RETURN NULL;
          END IF;
          EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE tenant_id = %L AND connection_id = %L)',
                         t.default_part, tenant, connection) INTO served;
          IF served THEN
            RETURN NULL;
          END IF;
          EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', t.load_table, t.parent);
          -- the load's constant columns come from defaults, so COPY need not send and parse them for every row
          EXECUTE format('ALTER TABLE %I ALTER tenant_id SET DEFAULT %L, ALTER connection_id SET DEFAULT %L,'
                         ' ALTER source_system SET DEFAULT %L, ALTER materialized_at SET DEFAULT %L',
                         t.load_table, tenant, connection, source_system, materialized_at);
          EXECUTE format('GRANT INSERT ON %I TO %I', t.load_table, session_user);
          RETURN t.load_table;
        END $$""",
        # check, index and attach the loaded table; returns its rows
        f"""
        CREATE FUNCTION serving_finish_load(entity text, tenant uuid, connection uuid) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER {SEARCH_PATH} AS $$
        DECLARE
          t record;
          ix record;
          n integer := 0;
          loaded bigint;
        BEGIN
          t := serving_load_target(entity, tenant, connection);
          IF to_regclass(t.load_table) IS NULL
             OR EXISTS (SELECT FROM pg_inherits WHERE inhrelid = to_regclass(t.load_table)) THEN
            RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
              MESSAGE = format('no load of connection %s is open in this transaction', connection);
          END IF;
          EXECUTE format('REVOKE ALL ON %I FROM %I', t.load_table, session_user);
          EXECUTE format('ALTER TABLE %I ALTER tenant_id DROP DEFAULT, ALTER connection_id DROP DEFAULT,'
                         ' ALTER source_system DROP DEFAULT, ALTER materialized_at DROP DEFAULT', t.load_table);
          PERFORM set_config('maintenance_work_mem', '256MB', true);
          EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (tenant_id = %L AND connection_id = %L)',
                         t.load_table, t.load_table || '_owner', tenant, connection);
          FOR ix IN SELECT c.oid, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
                    WHERE c.conrelid = t.parent::regclass AND c.contype IN ('p', 'u') ORDER BY c.conname LOOP
            n := n + 1;
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.load_table, t.load_table || '_k' || n, ix.def);
          END LOOP;
          FOR ix IN SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
                    WHERE i.indrelid = t.parent::regclass
                      AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                    ORDER BY i.indexrelid LOOP
            n := n + 1;
            EXECUTE regexp_replace(ix.def, '^CREATE (UNIQUE )?INDEX \\S+ ON ONLY \\S+',
                                   'CREATE \\1INDEX ' || quote_ident(t.load_table || '_i' || n)
                                   || ' ON ' || quote_ident(t.load_table));
          END LOOP;
          EXECUTE format('ANALYZE %I', t.load_table);
          EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                         t.tenant_part, t.load_table, connection);
          EXECUTE format('SELECT count(*) FROM %I', t.load_table) INTO loaded;
          RETURN loaded;
        END $$""",
    ]


FUNCTIONS = (
    "serving_drop_load_partitions(uuid)",
    "connections_drop_serving_partitions()",
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
        _secure(table, role)
    op.execute("SELECT serving_create_tenant_partitions(id) FROM tenants")
    for table in SERVING:
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}__old")
        op.execute(f"DROP TABLE {table}__old")
    op.execute(
        "CREATE TRIGGER tenants_create_serving_partitions AFTER INSERT ON tenants"
        " FOR EACH ROW EXECUTE FUNCTION tenants_create_serving_partitions()"
    )
    op.execute(
        "CREATE TRIGGER tenants_drop_serving_partitions AFTER DELETE ON tenants"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tenants_drop_serving_partitions()"
    )
    op.execute(
        "CREATE TRIGGER connections_drop_serving_partitions AFTER DELETE ON connections REFERENCING OLD TABLE AS"
        " old_rows FOR EACH STATEMENT EXECUTE FUNCTION connections_drop_serving_partitions()"
    )


def downgrade() -> None:
    """Back to plain tables keyed on id, with the same rows, policies, grants and checks."""
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute("DROP TRIGGER connections_drop_serving_partitions ON connections")
    op.execute("DROP TRIGGER tenants_drop_serving_partitions ON tenants")
    op.execute("DROP TRIGGER tenants_create_serving_partitions ON tenants")
    for table, (_, record_id) in SERVING.items():
        op.execute(f"ALTER TABLE {table} RENAME TO {table}__old")
        _rename_indexes(f"{table}__old", "__old", strip=False)
        op.execute(f"CREATE TABLE {table} (LIKE {table}__old INCLUDING DEFAULTS)")
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
