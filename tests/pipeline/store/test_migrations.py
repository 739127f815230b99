"""The Alembic migrations build exactly the schema the SQLAlchemy models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from autonomos_pipeline.dcl.store import Base
from tests.utils.stores import Store


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def test_sqlite_schema_matches_models(sqlite_store: Store) -> None:
    assert _diff(sqlite_store.admin_url) == []


@pytest.mark.postgres
def test_postgres_schema_matches_models(pg_store: Store) -> None:
    assert _diff(pg_store.admin_url) == []
