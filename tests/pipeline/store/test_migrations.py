"""The Alembic migrations build exactly the schema the SQLAlchemy models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from autonomos_pipeline.dcl.store import Base
from autonomos_pipeline.dcl.store.migrate import alembic_config
from autonomos_pipeline.dcl.store.models import (
    ENFORCED_BY_TRIGGERS_ON_POSTGRESQL,
    SERVING_PARTITION,
    TENANT_KEY_IMPLIED_INDEXES,
)
from tests.utils.stores import Store

#: (table, column) of the foreign keys the models mark as enforced by triggers on PostgreSQL (migrations 0007, 0010)
TRIGGER_ENFORCED = {
    (fk.parent.table.name, fk.parent.name)
    for table in Base.metadata.tables.values()
    for fk in table.foreign_keys
    if fk.info.get(ENFORCED_BY_TRIGGERS_ON_POSTGRESQL)
}


def _diff(url: str, skip_indexes: frozenset[str] = frozenset()) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": _declared,
                    "include_object": lambda _obj, name, type_, *_: not (type_ == "index" and name in skip_indexes),
                },
            )
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
    diff = _diff(pg_store.admin_url, skip_indexes=TENANT_KEY_IMPLIED_INDEXES)
    assert [d for d in diff if _trigger_enforced_key(d) is None] == []
    assert {_trigger_enforced_key(d) for d in diff} == TRIGGER_ENFORCED, "every marked key is a trigger, not a FK"
    serving = ("materialized_accounts", "materialized_opportunities", "materialized_contacts")
    referencing = (*serving, "quarantine")
    assert {(t, c) for t in referencing for c in ("tenant_id", "connection_id")} == TRIGGER_ENFORCED


@pytest.mark.postgres
def test_autogenerate_finds_nothing_to_do_on_postgresql(pg_store: Store) -> None:
    """`alembic check` (autogenerate) on a migrated store: the trigger-enforced keys are not offered back."""
    command.check(alembic_config(pg_store.admin_url))


@pytest.mark.postgres
def test_postgresql_serving_keys_lead_with_what_differs(pg_store: Store) -> None:
    """Migration 0009: each view index is the model's with tenant_id last, over live rows; the key leads with id; a
    connection's rows have an index of their own."""
    engine = create_engine(pg_store.admin_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))
            found = {str(name): str(definition) for name, definition in rows}
    finally:
        engine.dispose()
    for table in ("materialized_accounts", "materialized_opportunities", "materialized_contacts"):
        assert found[f"{table}_pkey"].endswith("USING btree (id, tenant_id, connection_id)")
        assert f"uq_{table}_identity" not in found
        connection = [i for i in Base.metadata.tables[table].indexes if str(i.name) not in TENANT_KEY_IMPLIED_INDEXES]
        assert [[c.name for c in i.columns] for i in connection] == [["connection_id", "tenant_id"]]
        for index in Base.metadata.tables[table].indexes:
            if index in connection:
                continue
            columns = [c.name for c in index.columns]
            assert columns[0] == "tenant_id"
            keys = ", ".join([*columns[1:], "tenant_id"])
            expected = f"ON ONLY public.{table} USING btree ({keys}) WHERE (is_deleted IS FALSE)"
            assert found[str(index.name)].endswith(expected), found[str(index.name)]
