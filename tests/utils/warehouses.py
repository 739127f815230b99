"""A tenant whose accounts are ingested one record per raw batch and mapped, ready to canonicalize."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import Engine

from autonomos_pipeline.dcl.ingest import ingest_connection
from autonomos_pipeline.dcl.mappings import ensure_first_mapping, latest_schema
from autonomos_pipeline.dcl.store import Connection, tenant_session
from tests.utils.stores import Store, make_connection, make_tenant


@dataclass
class MappedBatches:
    """The tenant, its warehouse and the serving store's engine."""

    engine: Engine
    tenant: uuid.UUID
    con: duckdb.DuckDBPyConnection


def mapped_record_batches(store: Store, tmp_path: Path, name: str, accounts: str) -> MappedBatches:
    """Ingest accounts (CSV text) with one record per raw batch and give the stream its first mapping."""
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "accounts.csv").write_text(accounts)
    engine = store.app_engine
    tenant = make_tenant(store, name)
    cid = make_connection(store, tenant, config={"path": str(folder)})
    with tenant_session(tenant, engine) as s:
        connection = s.get_one(Connection, cid)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    report = ingest_connection(tenant_id=str(tenant), connection=connection, engine=engine, con=con, batch_size=1)
    stream = report.streams[0].stream
    assert len(report.streams[0].batch_ids) == accounts.count("\n") - 1, "one record per raw batch"
    with tenant_session(tenant, engine) as s:
        schema = latest_schema(s, cid, stream)
    assert schema is not None and ensure_first_mapping(engine, str(tenant), cid, stream, schema).version is not None
    return MappedBatches(engine, tenant, con)
