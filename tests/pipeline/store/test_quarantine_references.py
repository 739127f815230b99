"""On PostgreSQL the quarantine's references to its tenant and connection are statement-level triggers (migration
0010) that keep the foreign keys' integrity: no row without its parents, no parent deleted under an uncommitted row,
deleting a parent deletes its rows, truncating the tenants empties the quarantine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, delete, insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from autonomos_pipeline.dcl.store import Connection, QuarantineRecord, get_engine, tenant_session
from autonomos_pipeline.dcl.store.migrate import alembic_config
from tests.conftest import APP_ROLE, migrated_store, temp_database
from tests.utils.stores import Store, bind_tenant, make_connection, make_tenant

pytestmark = pytest.mark.postgres


def _row(tenant_id: uuid.UUID, connection_id: uuid.UUID, key: str = "r1") -> dict[str, Any]:
    """A quarantined record of the connection."""
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "connection_id": connection_id,
        "stream": "accounts",
        "entity": "account",
        "batch_id": "b1",
        "source_record_id": key,
        "raw": {"Id": key},
        "reasons": [{"field": "name", "reason": "missing_required"}],
        "status": "open",
    }


def _quarantine(store: Store, tenant_id: uuid.UUID, connection_id: uuid.UUID, *keys: str) -> None:
    """Quarantine one record per key, as the application role does."""
    with tenant_session(tenant_id, store.app_engine) as s:
        s.execute(insert(QuarantineRecord), [_row(tenant_id, connection_id, key) for key in keys])


def _count(engine: Engine, column: str, value: uuid.UUID) -> int:
    """Quarantined rows whose column equals value (engine: the owner's, which sees every tenant)."""
    with engine.connect() as conn:
        query = text(f"SELECT count(*) FROM quarantine WHERE {column} = :v")
        return int(conn.execute(query, {"v": str(value)}).scalar_one())


def _sqlstate(err: DBAPIError) -> str:
    return str(getattr(err.orig, "pgcode", ""))


def test_a_quarantined_row_needs_an_existing_connection(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "QRefs")
    cid = make_connection(pg_store, tid)
    ghost = uuid.uuid4()
    with pytest.raises(IntegrityError) as err, tenant_session(tid, pg_store.app_engine) as s:
        s.execute(insert(QuarantineRecord), [_row(tid, cid, "ok"), _row(tid, ghost, "orphan")])
    assert _sqlstate(err.value) == "23503", "foreign_key_violation"
    message = str(err.value.orig)
    assert 'table "quarantine"' in message and f"connection_id {ghost}" in message, message
    assert _count(get_engine(pg_store.admin_url), "tenant_id", tid) == 0, "the whole statement is undone"


def test_a_quarantined_row_needs_an_existing_tenant(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "QReal")
    cid = make_connection(pg_store, tid)
    ghost = uuid.uuid4()
    with pytest.raises(IntegrityError) as err, get_engine(pg_store.admin_url).begin() as conn:
        conn.execute(insert(QuarantineRecord), [_row(ghost, cid)])
    assert _sqlstate(err.value) == "23503" and f"tenant_id {ghost}" in str(err.value.orig)


def test_an_update_cannot_point_a_row_at_a_missing_connection(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "QMoves")
    cid = make_connection(pg_store, tid)
    _quarantine(pg_store, tid, cid, "a")
    with pytest.raises(IntegrityError) as err, tenant_session(tid, pg_store.app_engine) as s:
        s.execute(update(QuarantineRecord).where(QuarantineRecord.tenant_id == tid).values(connection_id=uuid.uuid4()))
    assert _sqlstate(err.value) == "23503" and 'table "quarantine"' in str(err.value.orig)


def test_deleting_a_connection_deletes_its_quarantined_rows_only(pg_store: Store) -> None:
    tid, other = make_tenant(pg_store, "QLeaving"), make_tenant(pg_store, "QStaying")
    gone, kept = make_connection(pg_store, tid, "gone"), make_connection(pg_store, tid, "kept")
    elsewhere = make_connection(pg_store, other, "gone")  # the same name in another tenant
    for tenant, cid in ((tid, gone), (tid, kept), (other, elsewhere)):
        _quarantine(pg_store, tenant, cid, "a", "b")
    with tenant_session(tid, pg_store.app_engine) as s:  # as the API deletes one (the application role)
        s.delete(s.get_one(Connection, gone))
    admin = get_engine(pg_store.admin_url)
    assert _count(admin, "connection_id", gone) == 0
    assert _count(admin, "connection_id", kept) == _count(admin, "connection_id", elsewhere) == 2


def test_deleting_a_tenant_deletes_its_quarantined_rows(pg_store: Store) -> None:
    gone, kept = make_tenant(pg_store, "QGone"), make_tenant(pg_store, "QKept")
    for tid in (gone, kept):
        _quarantine(pg_store, tid, make_connection(pg_store, tid), "a")
    admin = get_engine(pg_store.admin_url)
    with admin.begin() as conn:  # the owner (there is no API to delete a tenant)
        conn.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": str(gone)})
    assert _count(admin, "tenant_id", gone) == 0
    assert _count(admin, "tenant_id", kept) == 1


def test_a_connection_delete_waits_for_an_uncommitted_quarantine_write(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "QRacing")
    cid = make_connection(pg_store, tid)
    engine = pg_store.app_engine
    with engine.connect() as writer, engine.connect() as deleter:
        bind_tenant(writer, tid)
        writer.execute(insert(QuarantineRecord), [_row(tid, cid)])
        bind_tenant(deleter, tid)
        deleter.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError) as err:
            deleter.execute(delete(Connection).where(Connection.id == cid))
        assert _sqlstate(err.value) == "55P03", "lock_not_available: the delete waited for the write"
        deleter.rollback()
        writer.commit()
        bind_tenant(deleter, tid)
        assert deleter.execute(delete(Connection).where(Connection.id == cid)).rowcount == 1
        deleter.commit()
    assert _count(get_engine(pg_store.admin_url), "connection_id", cid) == 0


def test_a_referenced_connection_id_cannot_change(pg_store: Store) -> None:
    tid = make_tenant(pg_store, "QRenames")
    cid = make_connection(pg_store, tid)
    _quarantine(pg_store, tid, cid, "a")
    with pytest.raises(IntegrityError) as err, get_engine(pg_store.admin_url).begin() as conn:
        conn.execute(update(Connection).where(Connection.id == cid).values(id=uuid.uuid4()))
    assert _sqlstate(err.value) == "23503"
    assert f'connection_id {cid} is still referenced from table "quarantine"' in str(err.value.orig)


@pytest.fixture
def fresh_pg_store() -> Iterator[Store]:
    """A store in a database of its own, for tests that change its schema or truncate its tenants."""
    with temp_database() as name:
        yield migrated_store(name)


def test_truncating_the_tenants_empties_the_quarantine(fresh_pg_store: Store) -> None:
    tid = make_tenant(fresh_pg_store, "QWiped")
    _quarantine(fresh_pg_store, tid, make_connection(fresh_pg_store, tid), "a")
    admin = get_engine(fresh_pg_store.admin_url)
    with admin.begin() as conn:
        conn.execute(text("TRUNCATE tenants CASCADE"))
    assert _count(admin, "tenant_id", tid) == 0


def _quarantine_fks(store: Store) -> int:
    with get_engine(store.admin_url).connect() as conn:
        query = text("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'quarantine'::regclass")
        return int(conn.execute(query).scalar_one())


def test_downgrade_restores_the_foreign_keys_and_upgrade_the_triggers(fresh_pg_store: Store) -> None:
    store = fresh_pg_store
    tid = make_tenant(store, "QRounds")
    cid = make_connection(store, tid)
    _quarantine(store, tid, cid, "a")
    cfg = alembic_config(store.admin_url, APP_ROLE)
    assert _quarantine_fks(store) == 0
    command.downgrade(cfg, "0009")
    assert _quarantine_fks(store) == 2
    with pytest.raises(IntegrityError) as err, tenant_session(tid, store.app_engine) as s:
        s.execute(insert(QuarantineRecord), [_row(tid, uuid.uuid4())])
    assert "quarantine_connection_id_fkey" in str(err.value.orig)
    command.upgrade(cfg, "head")
    assert _quarantine_fks(store) == 0
    with tenant_session(tid, store.app_engine) as s:
        s.delete(s.get_one(Connection, cid))
    assert _count(get_engine(store.admin_url), "tenant_id", tid) == 0, "the delete trigger is back"
