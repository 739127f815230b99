"""Quarantine writes overlap the next batch's canonicalization, yet a failure anywhere loses nothing and skips nothing.

A batch's quarantined rows go to the serving store on a worker thread while DuckDB works on the next batch; its
ledger row is written only once that write has succeeded. A batch that fails while an earlier batch's write is in
flight still gets that earlier batch recorded, exactly as when the writes ran inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from autonomos_pipeline.dcl import canonicalize
from autonomos_pipeline.dcl.canonicalize import canonicalize_entity, reconcile
from autonomos_pipeline.dcl.store import QuarantineRecord, tenant_session
from tests.pipeline.canonical.test_canonical_to_served import ACCOUNTS
from tests.utils.stores import Store
from tests.utils.warehouses import mapped_record_batches

pytestmark = pytest.mark.postgres


def test_a_failing_batch_records_the_batch_whose_write_was_in_flight(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = mapped_record_batches(pg_store, tmp_path, "Pipelined", ACCOUNTS)  # 001C (bad revenue), 001D (no name)
    engine, tenant, con = setup.engine, setup.tenant, setup.con

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
