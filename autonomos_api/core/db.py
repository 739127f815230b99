"""Database access for the API: its serving-store engine, and tenant-bound Core connections for the hot read paths."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import get_engine
from autonomos_pipeline.dcl.store.db import TENANT_SETTING

__all__ = ["api_engine", "dispose_api_engines", "tenant_connection"]

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def api_engine() -> Engine:
    """The engine requests use (the application role on PostgreSQL).

    On PostgreSQL the API has its own pool without a ping before each checkout (one round trip less per request);
    a connection the server closed fails one request, and the pool replaces it.
    """
    url = get_settings().serving_url
    if not url.startswith("postgresql"):
        return get_engine(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine(url, pool_pre_ping=False, pool_size=20, max_overflow=10)
        return engine


def dispose_api_engines() -> None:
    """Close the API's pools (application shutdown, tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def tenant_connection(tenant_id: uuid.UUID) -> Iterator[Connection]:
    """A Core connection in a transaction bound to tenant_id: on PostgreSQL row-level security shows only its rows.

    Queries must still filter by tenant_id themselves: SQLite has no row-level security.
    """
    with api_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT set_config(%s, %s, true)", (TENANT_SETTING, str(tenant_id)))
        yield connection
