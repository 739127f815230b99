"""Quarantine writes overlap the next batch's canonicalization, yet a failure anywhere loses nothing and skips nothing.

A batch's quarantined rows go to the serving store on a worker thread while DuckDB works on the next batch; its
ledger row is written only once that write has succeeded. A batch that fails while an earlier batch's write is in
flight still gets that earlier batch recorded, exactly as when the writes ran inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import func, select

from autonomos_pipeline.dcl import canonicalize
from autonomos_pipeline.dcl.canonicalize import canonicalize_entity, reconcile
from autonomos_pipeline.dcl.ingest import ingest_connection
from autonomos_pipeline.dcl.mappings import ensure_first_mapping, latest_schema
from autonomos_pipeline.dcl.store import Connection, QuarantineRecord, tenant_session
from tests.pipeline.canonical.test_canonical_to_served import ACCOUNTS
from tests.utils.stores import Store, make_connection, make_tenant

pytestmark = pytest.mark.postgres


def test_a_failing_batch_records_the_batch_whose_write_was_in_flight(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "accounts.csv").write_text(ACCOUNTS)  # 001C (bad revenue) and 001D (no name) are quarantined
    engine = pg_store.app_engine
    tenant = make_tenant(pg_store, "Pipelined")
    cid = make_connection(pg_store, tenant, config={"path": str(folder)})
    with tenant_session(tenant, engine) as s:
        connection = s.get_one(Connection, cid)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    report = ingest_connection(tenant_id=str(tenant), connection=connection, engine=engine, con=con, batch_size=1)
    stream = report.streams[0].stream
    assert len(report.streams[0].batch_ids) == 4, "one record per raw batch"
    with tenant_session(tenant, engine) as s:
        schema = latest_schema(s, cid, stream)
    assert schema is not None and ensure_first_mapping(engine, str(tenant), cid, stream, schema).version is not None

    real = canonicalize.stage_input
    calls: list[int] = []

    def failing_third(*args: Any) -> None:  # one call per batch, in batch order
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("DuckDB ran out of memory")
        real(*args)

    monkeypatch.setattr(canonicalize, "stage_input", failing_third)
    with pytest.raises(RuntimeError, match="out of memory"):
        canonicalize_entity(con, engine, str(tenant), "account")
    done = con.execute("SELECT count(*) FROM canonical_batches").fetchone()
    assert done == (2,), "the two batches before the failing one are recorded, the second one's write included"

    monkeypatch.setattr(canonicalize, "stage_input", real)
    [result] = canonicalize_entity(con, engine, str(tenant), "account")
    assert (result.batches, result.read) == (2, 2), "only the failing batch and the one after it were left due"
    assert reconcile(con, "account") == []
    with tenant_session(tenant, engine) as s:
        quarantined = s.scalars(select(QuarantineRecord.source_record_id)).all()
        total = s.scalar(select(func.count()).select_from(QuarantineRecord))
    assert sorted(quarantined) == ["001C", "001D"] and total == 2, "each quarantined once"
    assert con.execute("SELECT count(*) FROM canonical_accounts").fetchone() == (2,)
    con.close()
