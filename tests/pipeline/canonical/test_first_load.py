"""A connection's first load into PostgreSQL skips ON CONFLICT, yet serves the same rows as the upsert would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from autonomos_pipeline.dcl.serve import (
    _pending_rows_sql,
    _pg_copy_upsert,
    materialize_entity,
    pg_serving_sql,
)
from autonomos_pipeline.dcl.store import MaterializedAccount, tenant_session
from tests.utils.serving import (
    ACCOUNTS_TABLE,
    accounts_folder,
    serve_accounts,
    served_accounts,
    tenant_warehouse,
    unmaterialize,
    without_materialized_at,
)
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.postgres


def test_first_load_inserts_plainly_then_later_loads_upsert(pg_store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "FirstLoad")
    first = make_connection(
        pg_store,
        tenant,
        config={"path": str(accounts_folder(tmp_path, "a", "Id,Account Name\n001A,Acme\n001B,Globex\n"))},
    )
    report = serve_accounts(pg_store, data, tenant, {str(first): "filesource"})
    assert (report.upserted, report.first_load) == (2, 2)
    plain = served_accounts(pg_store, tenant)

    # The same pending rows through the upsert path: a served row of the connection makes it a later load.
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(delete(ACCOUNTS_TABLE))
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
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        report = materialize_entity(con, pg_store.app_engine, str(tenant), "account", {str(first): "filesource"})
    assert (report.upserted, report.first_load) == (2, 0)
    upserted = served_accounts(pg_store, tenant)
    del upserted[(first, "sentinel")]
    assert without_materialized_at(upserted) == without_materialized_at(plain)
    with tenant_session(tenant, pg_store.app_engine) as s:
        s.execute(delete(ACCOUNTS_TABLE).where(ACCOUNTS_TABLE.c.account_id == "sentinel"))

    # Changed data of the served connection is upserted while a new connection's rows go in plainly.
    accounts_folder(tmp_path, "a", "Id,Account Name\n001A,Acme Corp\n001B,Globex\n001C,Initech\n")
    second = make_connection(
        pg_store,
        tenant,
        name="more",
        config={"path": str(accounts_folder(tmp_path, "b", "Id,Account Name\n001A,Other\n"))},
    )
    systems = {str(first): "filesource", str(second): "filesource"}
    report = serve_accounts(pg_store, data, tenant, systems)
    assert (report.upserted, report.first_load) == (4, 1)
    served = served_accounts(pg_store, tenant)
    assert {k: r["name"] for k, r in served.items()} == {
        (first, "001A"): "Acme Corp",
        (first, "001B"): "Globex",
        (first, "001C"): "Initech",
        (second, "001A"): "Other",
    }
    assert served[(first, "001A")]["id"] == plain[(first, "001A")]["id"]

    # Serving everything again (a later load of unchanged rows) changes nothing.
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        report = materialize_entity(con, pg_store.app_engine, str(tenant), "account", systems)
    assert report.first_load == 0 and report.upserted == 4
    assert served_accounts(pg_store, tenant) == served


def test_first_load_meeting_served_rows_upserts(pg_store: Store, tmp_path: Path) -> None:
    """What a load racing the first one sees: its plain insert conflicts, so the chunk is upserted instead."""
    data = tmp_path / "data"
    tenant = make_tenant(pg_store, "Racing")
    cid = make_connection(
        pg_store,
        tenant,
        config={"path": str(accounts_folder(tmp_path, "a", "Id,Account Name\n001A,Acme\n001B,Globex\n"))},
    )
    assert serve_accounts(pg_store, data, tenant, {str(cid): "filesource"}).first_load == 2
    unmaterialize(data, tenant)
    with tenant_warehouse(data, tenant) as con:
        con.execute(f"CREATE TEMP TABLE _pending AS {_pending_rows_sql('account')}")
        query, _ = pg_serving_sql(con, "account", str(tenant), {}, datetime.now(UTC), "NOT is_deleted")
        rows = con.sql(query).to_arrow_table()

    inserted = _pg_copy_upsert(pg_store.app_engine, str(tenant), ACCOUNTS_TABLE, "account", rows, first_load=True)

    assert inserted == 0
    served = served_accounts(pg_store, tenant)
    assert sorted(served) == [(cid, "001A"), (cid, "001B")]
    assert {r["source_system"] for r in served.values()} == {"unknown"}  # the upsert updated the served rows
