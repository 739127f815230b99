"""Row-level security: a connection for tenant A that forgets the tenant filter still sees nothing of tenant B."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg2
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from autonomos_pipeline.dcl.store import (
    TENANT_TABLES,
    EventJournal,
    MaterializedAccount,
    User,
    auth_session,
    tenant_session,
)
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.postgres


def _seed(store: Store, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    tid = make_tenant(store, name)
    cid = make_connection(store, tid)
    now = datetime.now(UTC)
    with tenant_session(tid, store.app_engine) as s:
        s.add(User(tenant_id=tid, email=f"admin@{name.lower()}-{tid.hex[:6]}.test", password_hash="x", role="admin"))
        for i in range(3):
            s.add(
                MaterializedAccount(
                    id=uuid.uuid4(),
                    tenant_id=tid,
                    connection_id=cid,
                    source_system="filesource",
                    source_record_id=f"{name}-{i}",
                    mapping_version=1,
                    ingested_at=now,
                    account_id=f"{name}-{i}",
                    name=f"{name} account {i}",
                )
            )
        s.add(EventJournal(tenant_id=tid, type="ingested", payload={"rows": 3}))
    return tid, cid


def test_forgotten_tenant_filter_sees_only_own_rows(pg_store: Store) -> None:
    a, _ = _seed(pg_store, "Alpha")
    b, _ = _seed(pg_store, "Beta")
    raw = psycopg2.connect(pg_store.app_url.replace("postgresql+psycopg2", "postgresql"))
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT set_config('autonomos.tenant_id', %s, true)", (str(a),))
            cur.execute("SELECT account_id, tenant_id FROM materialized_accounts")  # no tenant filter
            rows = cur.fetchall()
            assert {r[0] for r in rows} >= {"Alpha-0", "Alpha-1", "Alpha-2"}
            assert all(uuid.UUID(str(r[1])) == a for r in rows)
            for table in TENANT_TABLES:
                column = "id" if table == "tenants" else "tenant_id"
                cur.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (str(b),))
                assert cur.fetchone() == (0,), f"{table} leaked tenant B rows to tenant A"
        raw.rollback()
    finally:
        raw.close()


def test_no_tenant_set_means_no_rows(pg_store: Store) -> None:
    _seed(pg_store, "Gamma")
    engine = create_engine(pg_store.app_url)
    with engine.connect() as conn:
        for table in TENANT_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
    engine.dispose()


def test_app_role_cannot_bypass_or_write_into_another_tenant(pg_store: Store) -> None:
    a, _ = _seed(pg_store, "Delta")
    b, _ = _seed(pg_store, "Epsilon")
    engine = create_engine(pg_store.app_url)
    with engine.connect() as conn:
        flags = conn.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(flags) == (False, False)
    with engine.connect() as conn, pytest.raises(DBAPIError, match="row-level security"):
        conn.execute(text("SET row_security = off"))
        conn.execute(text("SELECT count(*) FROM materialized_accounts")).scalar()
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('autonomos.tenant_id', :t, true)"), {"t": str(a)})
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text("INSERT INTO event_journal (tenant_id, type, payload, created_at) VALUES (:t, 'x', '{}', now())"),
                {"t": str(b)},
            )
    engine.dispose()


def test_tenant_session_orm_reads_are_scoped(pg_store: Store) -> None:
    a, _ = _seed(pg_store, "Zeta")
    _seed(pg_store, "Eta")
    with tenant_session(a, pg_store.app_engine) as s:
        names = s.scalars(select(MaterializedAccount.name)).all()
    assert names and all(n.startswith("Zeta") for n in names)


def test_login_session_sees_only_the_user_with_that_email(pg_store: Store) -> None:
    a, _ = _seed(pg_store, "Theta")
    _seed(pg_store, "Iota")
    email = f"admin@theta-{a.hex[:6]}.test"
    with auth_session(email, pg_store.app_engine) as s:
        users = s.scalars(select(User)).all()
        accounts = s.scalars(select(MaterializedAccount)).all()
    assert [u.email for u in users] == [email]
    assert accounts == []


def test_sqlite_default_scopes_orm_reads_by_tenant(sqlite_store: Store) -> None:
    a, _ = _seed(sqlite_store, "Kappa")
    _seed(sqlite_store, "Lambda")
    with tenant_session(a, sqlite_store.app_engine) as s:
        accounts = s.scalars(select(MaterializedAccount)).all()
        events = s.scalars(select(EventJournal)).all()
    assert len(accounts) == 3 and all(x.tenant_id == a for x in accounts)
    assert len(events) == 1
