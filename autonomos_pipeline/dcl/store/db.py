"""Engines and sessions of the serving store; a tenant session sets the row-level-security tenant per transaction."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store.models import Tenant, TenantScoped

TENANT_SETTING = "autonomos.tenant_id"
AUTH_EMAIL_SETTING = "autonomos.auth_email"

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """Create an engine for url with the pool and pragmas the serving store wants."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    """Return the process-wide engine for url (default: the configured serving store)."""
    settings = get_settings()
    url = url or settings.serving_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            _engines[url] = engine
        return engine


def reset_engines() -> None:
    """Dispose every engine (tests, after settings change)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@event.listens_for(Session, "after_begin")
def _set_rls_settings(session: Session, _transaction: Any, connection: Any) -> None:
    """On PostgreSQL, bind the session's tenant (or login e-mail) to the transaction for row-level security."""
    if connection.dialect.name != "postgresql":
        return
    tenant = session.info.get("tenant_id")
    email = session.info.get("auth_email")
    if tenant is not None:
        connection.exec_driver_sql("SELECT set_config(%s, %s, true)", (TENANT_SETTING, str(tenant)))
    if email is not None:
        connection.exec_driver_sql("SELECT set_config(%s, %s, true)", (AUTH_EMAIL_SETTING, email))


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    """Everywhere (SQLite too), ORM reads in a tenant session only see that tenant's rows."""
    tenant = state.session.info.get("tenant_id")
    if tenant is None or not (state.is_select or state.is_update or state.is_delete):
        return
    tid = uuid.UUID(str(tenant))
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid, include_aliases=True),
        with_loader_criteria(Tenant, lambda cls: cls.id == tid, include_aliases=True),
    )


def _factory(engine: Engine | None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def tenant_session(tenant_id: uuid.UUID | str, engine: Engine | None = None) -> Iterator[Session]:
    """A session that sees and writes only tenant_id's rows; commits on success, rolls back on error."""
    session = _factory(engine)(info={"tenant_id": str(tenant_id)})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def auth_session(email: str, engine: Engine | None = None) -> Iterator[Session]:
    """A session for login: it can read only the user rows with this e-mail, nothing of any tenant."""
    session = _factory(engine)(info={"auth_email": email.lower()})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def system_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session with no tenant: under row-level security it sees no tenant rows (use for health checks)."""
    session = _factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
