"""A failed quarantine write loses nothing: its batch gets no ledger row and stays due until a later run writes it."""

from __future__ import annotations

import uuid
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


def test_a_failed_quarantine_write_leaves_its_batch_due_and_loses_nothing(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "accounts.csv").write_text(ACCOUNTS)  # 001C (bad revenue) and 001D (no name) are quarantined
    engine = pg_store.app_engine
    tenant = make_tenant(pg_store, "Quarantine")
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

    order = [b for (b,) in con.execute("SELECT batch_id FROM raw_batches ORDER BY ingested_at, batch_id").fetchall()]
    (bad,) = con.execute("SELECT batch_id FROM raw_records WHERE source_record_id = '001C'").fetchone()  # type: ignore[misc]
    real = canonicalize.write_quarantine
    calls: list[int] = []

    def failing_on_001c(*args: Any) -> int:  # one call per batch, in batch order
        calls.append(1)
        if len(calls) == order.index(bad) + 1:
            raise RuntimeError("the serving store went away")
        return real(*args)

    monkeypatch.setattr(canonicalize, "write_quarantine", failing_on_001c)
    with pytest.raises(RuntimeError, match="went away"):
        canonicalize_entity(con, engine, str(tenant), "account")
    done = con.execute("SELECT count(*) FROM canonical_batches").fetchone()
    assert done == (order.index(bad),), "the batch whose quarantine write failed (and the later ones) stay due"

    monkeypatch.setattr(canonicalize, "write_quarantine", real)
    [result] = canonicalize_entity(con, engine, str(tenant), "account")
    due = len(order) - order.index(bad)
    assert (result.batches, result.read) == (due, due), "only the batches left due"
    assert reconcile(con, "account") == []
    with tenant_session(tenant, engine) as s:
        quarantined = s.scalars(select(QuarantineRecord.source_record_id)).all()
        total = s.scalar(select(func.count()).select_from(QuarantineRecord))
    assert sorted(quarantined) == ["001C", "001D"] and total == 2, "each quarantined once"
    assert con.execute("SELECT count(*) FROM canonical_accounts").fetchone() == (2,)
    con.close()
    assert uuid.UUID(str(tenant))
