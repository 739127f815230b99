"""The Alembic migrations build exactly the schema the SQLAlchemy models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from autonomos_pipeline.dcl.store import Base
from autonomos_pipeline.dcl.store.migrate import alembic_config
from autonomos_pipeline.dcl.store.models import ENFORCED_BY_TRIGGERS_ON_POSTGRESQL, SERVING_PARTITION
from tests.utils.stores import Store

#: (table, column) of the foreign keys the models mark as enforced by triggers on PostgreSQL (migration 0007)
TRIGGER_ENFORCED = {
    (fk.parent.table.name, fk.parent.name)
    for table in Base.metadata.tables.values()
    for fk in table.foreign_keys
    if fk.info.get(ENFORCED_BY_TRIGGERS_ON_POSTGRESQL)
}


def _diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _declared})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _declared(name: str | None, type_: str, _parents: Any) -> bool:
    """Leave out the serving tables' partitions (migration 0008): the stores other tests share have tenants."""
    return not (type_ == "table" and name is not None and SERVING_PARTITION.match(name))


def _trigger_enforced_key(diff: Any) -> tuple[str, str] | None:
    """The (table, column) of a missing foreign key the models mark as enforced by triggers, else None."""
    if diff[0] != "add_fk" or len(diff[1].column_keys) != 1:
        return None
    key = (diff[1].table.name, diff[1].column_keys[0])
    return key if key in TRIGGER_ENFORCED else None


def test_sqlite_schema_matches_models(sqlite_store: Store) -> None:
    assert _diff(sqlite_store.admin_url) == []


@pytest.mark.postgres
def test_postgres_schema_matches_models(pg_store: Store) -> None:
    diff = _diff(pg_store.admin_url)
    assert [d for d in diff if _trigger_enforced_key(d) is None] == []
    assert {_trigger_enforced_key(d) for d in diff} == TRIGGER_ENFORCED, "every marked key is a trigger, not a FK"
    serving = ("materialized_accounts", "materialized_opportunities", "materialized_contacts")
    assert {(t, c) for t in serving for c in ("tenant_id", "connection_id")} == TRIGGER_ENFORCED


@pytest.mark.postgres
def test_autogenerate_finds_nothing_to_do_on_postgresql(pg_store: Store) -> None:
    """`alembic check` (autogenerate) on a migrated store: the trigger-enforced keys are not offered back."""
    command.check(alembic_config(pg_store.admin_url))
