"""On PostgreSQL the serving rows' references to their tenant and connection are statement-level triggers
(migration 0007) that keep the foreign keys' integrity: no row without its parents, no parent deleted under an
uncommitted row, deleting a parent deletes its rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, delete, insert, inspect, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from autonomos_pipeline.dcl.store import MATERIALIZED_MODELS, Connection, get_engine, tenant_session
from autonomos_pipeline.dcl.store.migrate import alembic_config
from tests.conftest import APP_ROLE, migrated_store, temp_database
from tests.utils.stores import Store, bind_tenant, make_connection, make_tenant

pytestmark = pytest.mark.postgres

TABLES = {entity: inspect(model).local_table.name for entity, model in MATERIALIZED_MODELS.items()}
SERVING_TABLES = tuple(TABLES.values())
_REQUIRED = {"account": "name", "opportunity": "name", "contact": "last_name"}


def _row(entity: str, tenant_id: uuid.UUID, connection_id: uuid.UUID, key: str = "r1") -> dict[str, Any]:
    """A minimal served row of entity."""
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "connection_id": connection_id,
        "source_system": "filesource",
        "source_record_id": key,
        "mapping_version": 1,
        "ingested_at": now,
        "materialized_at": now,
        "is_deleted": False,
        f"{entity}_id": key,
        _REQUIRED[entity]: f"{entity} {key}",
    }


def _serve(store: Store, tenant_id: uuid.UUID, connection_id: uuid.UUID, key: str = "r1") -> None:
    """Serve one row of every entity for the connection, as the application role."""
    with tenant_session(tenant_id, store.app_engine) as s:
        for entity, model in MATERIALIZED_MODELS.items():
            s.execute(insert(model), [_row(entity, tenant_id, connection_id, key)])


def _counts(engine: Engine, column: str, value: uuid.UUID) -> dict[str, int]:
    """Rows per serving table whose column equals value (engine: the owner's, which sees every tenant)."""
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t} WHERE {column} = :v"), {"v": str(value)}).scalar_one())
            for t in SERVING_TABLES
        }


def _sqlstate(err: DBAPIError) -> str:
    return str(getattr(err.orig, "pgcode", ""))


@pytest.mark.parametrize("entity", list(MATERIALIZED_MODELS))
def test_a_serving_row_needs_an_existing_connection(pg_store: Store, entity: str) -> None:
    tid = make_tenant(pg_store, "Refs")
    cid = make_connection(pg_store, tid)
    ghost = uuid.uuid4()
    model = MATERIALIZED_MODELS[entity]
    with pytest.raises(IntegrityError) as err, tenant_session(tid, pg_store.app_engine) as s:
        s.execute(insert(model), [_row(entity, tid, cid, "ok"), _row(entity, tid, ghost, "orphan")])
    assert _sqlstate(err.value) == "23503", "foreign_key_violation"
    message = str(err.value.orig)
    assert f'table "{TABLES[entity]}"' in message and f"connection_id {ghost}" in message, message
    assert _counts(get_engine(pg_store.admin_url), "tenant_id", tid)[TABLES[entity]] == 0, "statement undone"


def test_a_serving_row_needs_an_existing_tenant(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Real")
    cid = make_connection(pg_store, tid)
    ghost = uuid.uuid4()
    # the application role, bound to a tenant id that has no tenant row
    with pytest.raises(IntegrityError) as err, tenant_session(ghost, pg_store.app_engine) as s:
        s.execute(insert(MATERIALIZED_MODELS["account"]), [_row("account", ghost, cid)])
    assert _sqlstate(err.value) == "23503" and f"tenant_id {ghost}" in str(err.value.orig)
    # the owner, whom row-level security does not restrict
    with pytest.raises(IntegrityError) as err, get_engine(pg_store.admin_url).begin() as conn:
        conn.execute(insert(MATERIALIZED_MODELS["contact"]), [_row("contact", ghost, cid)])
    assert _sqlstate(err.value) == "23503" and 'table "materialized_contacts"' in str(err.value.orig)


def test_an_update_cannot_point_a_row_at_a_missing_connection(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Moves")
    cid = make_connection(pg_store, tid)
    _serve(pg_store, tid, cid)
    model = MATERIALIZED_MODELS["opportunity"]
    with pytest.raises(IntegrityError) as err, tenant_session(tid, pg_store.app_engine) as s:
        s.execute(update(model).where(model.tenant_id == tid).values(connection_id=uuid.uuid4()))
    assert _sqlstate(err.value) == "23503" and 'table "materialized_opportunities"' in str(err.value.orig)


def test_deleting_a_connection_deletes_its_serving_rows(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Leaving")
    gone, kept = make_connection(pg_store, tid, "gone"), make_connection(pg_store, tid, "kept")
    for cid in (gone, kept):
        _serve(pg_store, tid, cid, "a")
        _serve(pg_store, tid, cid, "b")
    with tenant_session(tid, pg_store.app_engine) as s:  # as the API deletes one (the application role)
        s.delete(s.get_one(Connection, gone))
    admin = get_engine(pg_store.admin_url)
    assert _counts(admin, "connection_id", gone) == dict.fromkeys(SERVING_TABLES, 0)
    assert _counts(admin, "connection_id", kept) == dict.fromkeys(SERVING_TABLES, 2)


def test_deleting_a_tenant_deletes_its_serving_rows(pg_store: Store) -> None:
    gone, kept = make_tenant(pg_store, "Gone"), make_tenant(pg_store, "Kept")
    for tid in (gone, kept):
        _serve(pg_store, tid, make_connection(pg_store, tid))
    admin = get_engine(pg_store.admin_url)
    with admin.begin() as conn:  # the owner (there is no API to delete a tenant)
        conn.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": str(gone)})
    assert _counts(admin, "tenant_id", gone) == dict.fromkeys(SERVING_TABLES, 0)
    assert _counts(admin, "tenant_id", kept) == dict.fromkeys(SERVING_TABLES, 1)


def test_a_connection_delete_waits_for_an_uncommitted_insert_referencing_it(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Racing")
    cid = make_connection(pg_store, tid)
    engine = pg_store.app_engine
    with engine.connect() as inserter, engine.connect() as deleter:
        bind_tenant(inserter, tid)
        inserter.execute(insert(MATERIALIZED_MODELS["account"]), [_row("account", tid, cid)])
        bind_tenant(deleter, tid)
        deleter.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError) as err:
            deleter.execute(delete(Connection).where(Connection.id == cid))
        assert _sqlstate(err.value) == "55P03", "lock_not_available: the delete waited for the insert"
        deleter.rollback()

        inserter.commit()
        bind_tenant(deleter, tid)
        assert deleter.execute(delete(Connection).where(Connection.id == cid)).rowcount == 1
        deleter.commit()
    assert _counts(get_engine(pg_store.admin_url), "connection_id", cid)["materialized_accounts"] == 0


def _wait_for_a_lock_wait(store: Store) -> None:
    """Return once a backend of the store's database waits for a lock (fail after 10 s)."""
    with get_engine(store.admin_url).connect() as conn:
        deadline = time.monotonic() + 10
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while conn.execute(query).scalar_one() == 0:
            assert time.monotonic() < deadline, "nobody waited for a lock"
            time.sleep(0.05)
            conn.rollback()


def test_an_insert_waits_for_an_uncommitted_delete_of_its_connection_then_fails(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Closing")
    cid = make_connection(pg_store, tid)
    engine = pg_store.app_engine
    with engine.connect() as deleter, engine.connect() as inserter, ThreadPoolExecutor(1) as pool:
        bind_tenant(deleter, tid)
        deleter.execute(delete(Connection).where(Connection.id == cid))
        bind_tenant(inserter, tid)
        pending = pool.submit(inserter.execute, insert(MATERIALIZED_MODELS["account"]), [_row("account", tid, cid)])
        _wait_for_a_lock_wait(pg_store)
        assert not pending.done()
        deleter.commit()
        with pytest.raises(IntegrityError) as err:
            pending.result(timeout=10)
        assert _sqlstate(err.value) == "23503", "no row may outlive its deleted connection"
        inserter.rollback()
    assert _counts(get_engine(pg_store.admin_url), "connection_id", cid)["materialized_accounts"] == 0


def test_a_referenced_connection_id_cannot_change(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "Renames")
    cid = make_connection(pg_store, tid)
    _serve(pg_store, tid, cid)
    with tenant_session(tid, pg_store.app_engine) as s:
        s.execute(update(Connection).where(Connection.id == cid).values(name="renamed"))
    with pytest.raises(IntegrityError) as err, get_engine(pg_store.admin_url).begin() as conn:
        conn.execute(update(Connection).where(Connection.id == cid).values(id=uuid.uuid4()))
    assert _sqlstate(err.value) == "23503" and f"connection_id {cid} is still referenced" in str(err.value.orig)


@pytest.fixture
def fresh_pg_store() -> Iterator[Store]:
    """A store in a database of its own, for tests that change its schema or truncate its tenants."""
    with temp_database() as name:
        yield migrated_store(name)


#: 0007's 12 reference triggers, of which 0008 replaces the two parent DELETE triggers with one on connections
#: (clearing its rows partition by partition) and a tenant one that drops its partitions (not counted here)
HEAD_TRIGGERS = 11


def _schema(store: Store) -> tuple[int, int]:
    """(serving foreign keys, serving reference triggers of migration 0007) in the store's database."""
    with get_engine(store.admin_url).connect() as conn:
        fks = conn.execute(
            text(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text ~ '^materialized_'"
            )
        ).scalar_one()
        triggers = conn.execute(
            text(
                "SELECT count(*) FROM pg_trigger"
                " WHERE NOT tgisinternal AND tgname ~ '(check_parents|_serving_rows|_serving_keys)'"
            )
        ).scalar_one()
    return int(fks), int(triggers)


def _orphan_message(store: Store, tenant_id: uuid.UUID) -> str:
    """The error of serving a row of a connection that does not exist (asserting it is a foreign-key error)."""
    with pytest.raises(IntegrityError) as err, tenant_session(tenant_id, store.app_engine) as s:
        s.execute(insert(MATERIALIZED_MODELS["account"]), [_row("account", tenant_id, uuid.uuid4(), "orphan")])
    assert _sqlstate(err.value) == "23503"
    return str(err.value.orig)


def test_downgrade_then_upgrade_round_trips(fresh_pg_store: Store) -> None:
    store = fresh_pg_store
    tid = make_tenant(store, "Rounds")
    cid = make_connection(store, tid)
    _serve(store, tid, cid)
    cfg = alembic_config(store.admin_url, APP_ROLE)
    assert _schema(store) == (0, HEAD_TRIGGERS)

    command.downgrade(cfg, "0006")
    assert _schema(store) == (6, 0)
    assert "_connection_id_fkey" in _orphan_message(store, tid), "the foreign keys are back"
    assert _counts(get_engine(store.admin_url), "connection_id", cid) == dict.fromkeys(SERVING_TABLES, 1)

    command.upgrade(cfg, "head")
    assert _schema(store) == (0, HEAD_TRIGGERS)
    assert "is not present in table" in _orphan_message(store, tid), "the triggers are back"
    with store.app_engine.begin() as conn:
        bind_tenant(conn, tid)
        conn.execute(delete(Connection).where(Connection.id == cid))
    assert _counts(get_engine(store.admin_url), "tenant_id", tid) == dict.fromkeys(SERVING_TABLES, 0)


def test_truncating_the_tenants_truncates_the_serving_tables(fresh_pg_store: Store) -> None:
    tid = make_tenant(fresh_pg_store, "Wiped")
    _serve(fresh_pg_store, tid, make_connection(fresh_pg_store, tid))
    admin = get_engine(fresh_pg_store.admin_url)
    with admin.begin() as conn:
        conn.execute(text("TRUNCATE tenants CASCADE"))
    assert _counts(admin, "tenant_id", tid) == dict.fromkeys(SERVING_TABLES, 0)
