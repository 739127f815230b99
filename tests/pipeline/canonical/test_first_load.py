"""A connection's first load into PostgreSQL skips ON CONFLICT, yet serves the same rows as the upsert would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import delete, select

from autonomos_pipeline.dcl.serve import (
    MaterializeReport,
    _pending_rows_sql,
    _pg_copy_upsert,
    materialize_entity,
    pg_serving_sql,
)
from autonomos_pipeline.dcl.store import MaterializedAccount, tenant_session
from tests.pipeline.canonical.test_deletions import _materialize
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.postgres

TABLE = MaterializedAccount.__table__
UP_TO_CANONICAL = {"raw_filesource", "stream_mappings", "canonical_accounts"}


def _folder(tmp_path: Path, name: str, accounts: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "accounts.csv").write_text(accounts)
    return folder


def _warehouse(data_dir: Path, tenant: uuid.UUID) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse" / f"tenant_{tenant}.duckdb"))


def _serve(store: Store, data_dir: Path, tenant: uuid.UUID, systems: dict[str, str]) -> MaterializeReport:
    """Ingest and canonicalize through the assets, then materialize the accounts directly to see the report."""
    _materialize(store, data_dir, tenant, UP_TO_CANONICAL)
    with _warehouse(data_dir, tenant) as con:
        return materialize_entity(con, store.app_engine, str(tenant), "account", systems)


def _unmaterialize(data_dir: Path, tenant: uuid.UUID) -> None:
    """Make every canonical batch pending again, as if it had never been served."""
    with _warehouse(data_dir, tenant) as con:
        con.execute("UPDATE canonical_batches SET materialized_at = NULL")


def _served(store: Store, tenant: uuid.UUID) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    with tenant_session(tenant, store.app_engine) as s:
        rows = [r._asdict() for r in s.execute(select(TABLE))]
    served = {(r["connection_id"], r["account_id"]): r for r in rows}
    assert len(served) == len(rows)
    return served


def _without_materialized_at(rows: dict[tuple[uuid.UUID, str], dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {k: {c: v for c, v in r.items() if c != "materialized_at"} for k, r in rows.items()}


def test_first_load_inserts_plainly_then_later_loads_upsert(pg_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "FirstLoad")
    first = make_connection(
        pg_store, tenant, config={"path": str(_folder(tmp_path, "a", "Id,Account Name\n001A,Acme\n001B,Globex\n"))}
    )
    report = _serve(pg_store, data, tenant, {str(first): "filesource"})
    assert (report.upserted, report.first_load) == (2, 2)
    plain = _served(pg_store, tenant)

    # The same pending rows through the upsert path: a served row of the connection makes it a later load.
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(delete(TABLE))
        s.add(
            MaterializedAccount(
                id=uuid.uuid4(),
                tenant_id=tenant,
                connection_id=first,
                account_id="sentinel",
                name="Sentinel",
                source_system="filesource",
                source_record_id="sentinel",
                mapping_version=1,
                ingested_at=datetime.now(UTC),
            )
        )
    _unmaterialize(data, tenant)
    with _warehouse(data, tenant) as con:
        report = materialize_entity(con, pg_store.app_engine, str(tenant), "account", {str(first): "filesource"})
    assert (report.upserted, report.first_load) == (2, 0)
    upserted = _served(pg_store, tenant)
    del upserted[(first, "sentinel")]
    assert _without_materialized_at(upserted) == _without_materialized_at(plain)
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(delete(TABLE).where(TABLE.c.account_id == "sentinel"))

    # Changed data of the served connection is upserted while a new connection's rows go in plainly.
    _folder(tmp_path, "a", "Id,Account Name\n001A,Acme Corp\n001B,Globex\n001C,Initech\n")
    second = make_connection(
        pg_store, tenant, name="more", config={"path": str(_folder(tmp_path, "b", "Id,Account Name\n001A,Other\n"))}
    )
    systems = {str(first): "filesource", str(second): "filesource"}
    report = _serve(pg_store, data, tenant, systems)
    assert (report.upserted, report.first_load) == (4, 1)
    served = _served(pg_store, tenant)
    assert {k: r["name"] for k, r in served.items()} == {
        (first, "001A"): "Acme Corp",
        (first, "001B"): "Globex",
        (first, "001C"): "Initech",
        (second, "001A"): "Other",
    }
    assert served[(first, "001A")]["id"] == plain[(first, "001A")]["id"]

    # Serving everything again (a later load of unchanged rows) changes nothing.
    _unmaterialize(data, tenant)
    with _warehouse(data, tenant) as con:
        report = materialize_entity(con, pg_store.app_engine, str(tenant), "account", systems)
    assert report.first_load == 0 and report.upserted == 4
    assert _served(pg_store, tenant) == served


def test_first_load_meeting_served_rows_upserts(pg_store: Store, tmp_path: Path) -> None:
    """What a load racing the first one sees: its plain insert conflicts, so the chunk is upserted instead."""
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "Racing")
    cid = make_connection(
        pg_store, tenant, config={"path": str(_folder(tmp_path, "a", "Id,Account Name\n001A,Acme\n001B,Globex\n"))}
    )
    assert _serve(pg_store, data, tenant, {str(cid): "filesource"}).first_load == 2
    _unmaterialize(data, tenant)
    with _warehouse(data, tenant) as con:
        con.execute(f"CREATE TEMP TABLE _pending AS {_pending_rows_sql('account')}")
        rows = con.sql(
            pg_serving_sql(con, "account", str(tenant), {}, datetime.now(UTC), "NOT is_deleted")
        ).to_arrow_table()

    inserted = _pg_copy_upsert(pg_store.app_engine, str(tenant), TABLE, "account", rows, first_load=True)

    assert inserted == 0
    served = _served(pg_store, tenant)
    assert sorted(served) == [(cid, "001A"), (cid, "001B")]
    assert {r["source_system"] for r in served.values()} == {"unknown"}  # the upsert updated the served rows
