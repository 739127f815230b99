"""A failed quarantine write loses nothing: its batch gets no ledger row and stays due until a later run writes it."""

from __future__ import annotations

import uuid
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


def test_a_failed_quarantine_write_leaves_its_batch_due_and_loses_nothing(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = mapped_record_batches(pg_store, tmp_path, "Quarantine", ACCOUNTS)  # 001C (bad revenue), 001D (no name)
    engine, tenant, con = setup.engine, setup.tenant, setup.con

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
