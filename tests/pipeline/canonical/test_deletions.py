"""Records the source reports deleted are marked deleted in the serving table; unknown ones add no row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy import select

from autonomos_pipeline.dcl.store import MaterializedAccount, tenant_session
from autonomos_pipeline.dcl.warehouse import write_batch
from tests.utils.serving import materialize_assets
from tests.utils.stores import Store, make_connection, make_tenant

ACCOUNTS = "Id,Account Name,Website\n001A,Acme,acme.com\n001B,Globex,globex.io\n"


def _scenario(store: Store, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "accounts.csv").write_text(ACCOUNTS)
    tenant = make_tenant(store, "Deleting")
    cid = make_connection(store, tenant, config={"path": str(files)})
    data_dir = tmp_path / "data"
    materialize_assets(store, data_dir, tenant)

    con = duckdb.connect(str(data_dir / "warehouse" / f"tenant_{tenant}.duckdb"))
    fingerprint = con.execute("SELECT fingerprint FROM raw_batches LIMIT 1").fetchone()
    assert fingerprint is not None
    write_batch(  # what a connector reporting deletions (Salesforce queryAll) lands in the warehouse
        con,
        batch_id="deletions-1",
        connection_id=str(cid),
        stream="accounts",
        table=pa.table({"Id": pa.array([], pa.string())}),
        id_column="Id",
        deleted_ids=["001A", "never-served"],
        fingerprint=fingerprint[0],
        cursor_before=None,
        cursor_after=None,
        error_count=0,
        ingested_at=datetime.now(UTC),
    )
    con.close()
    materialize_assets(store, data_dir, tenant, {"canonical_accounts", "materialized_accounts"})
    materialize_assets(store, data_dir, tenant, {"canonical_accounts", "materialized_accounts"})  # idempotent

    with tenant_session(tenant, store.app_engine) as s:
        rows = {r.account_id: (r.is_deleted, r.name) for r in s.scalars(select(MaterializedAccount))}
    assert rows == {"001A": (True, "Acme"), "001B": (False, "Globex")}


def test_sqlite(sqlite_store: Store, tmp_path: Path) -> None:
    _scenario(sqlite_store, tmp_path)


@pytest.mark.postgres
def test_postgres(pg_store: Store, tmp_path: Path) -> None:
    _scenario(pg_store, tmp_path)
