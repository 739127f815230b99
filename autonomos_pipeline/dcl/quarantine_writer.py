"""Bulk writes of quarantined records into the serving store: binary COPY through a staging table on PostgreSQL."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, insert

from autonomos_pipeline.dcl.binary_copy import encode
from autonomos_pipeline.dcl.store import QuarantineRecord, tenant_session
from autonomos_pipeline.dcl.store.db import TENANT_SETTING


@dataclass(frozen=True)
class QuarantineTarget:
    """Where a set of quarantined rows came from and which mapping version judged them."""

    tenant_id: str
    connection_id: str
    stream: str
    entity: str
    mapping_version: int | None


def write_quarantine(engine: Engine, target: QuarantineTarget, batches: pa.RecordBatchReader) -> int:
    """Insert record batches of (batch_id, source_record_id, raw, reasons); raw and reasons are JSON texts."""
    written = 0
    now = datetime.now(UTC)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if engine.dialect.name == "postgresql":
            _copy(engine, target, pa.Table.from_batches([batch]), now)
        else:
            _insert(engine, target, batch.to_pylist(), now)
        written += batch.num_rows
    return written


def _insert(engine: Engine, target: QuarantineTarget, rows: list[dict[str, Any]], now: datetime) -> None:
    tid = uuid.UUID(target.tenant_id)
    cid = uuid.UUID(target.connection_id)
    with tenant_session(target.tenant_id, engine) as s:
        for start in range(0, len(rows), 5_000):
            s.execute(
                insert(QuarantineRecord),
                [
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tid,
                        "connection_id": cid,
                        "stream": target.stream,
                        "entity": target.entity,
                        "batch_id": r["batch_id"],
                        "source_record_id": r["source_record_id"],
                        "raw": json.loads(r["raw"]),
                        "reasons": json.loads(r["reasons"]),
                        "mapping_version": target.mapping_version,
                        "status": "open",
                        "created_at": now,
                    }
                    for r in rows[start : start + 5_000]
                ],
            )


def _copy(engine: Engine, target: QuarantineTarget, table: pa.Table, now: datetime) -> None:
    """COPY into a temporary table (row-level security forbids COPY into the tenant table), then INSERT it."""
    buf = io.BytesIO(encode(table.select(["batch_id", "source_record_id", "raw", "reasons"])))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, target.tenant_id))
        cur.execute(
            "CREATE TEMP TABLE _quarantine_stage (batch_id text, source_record_id text, raw json, reasons json) "
            "ON COMMIT DROP"
        )
        cur.copy_expert("COPY _quarantine_stage FROM STDIN WITH (FORMAT binary)", buf)  # no CSV quoting to parse
        cur.execute(
            """INSERT INTO quarantine (id, tenant_id, connection_id, stream, entity, batch_id, source_record_id, raw,
                                       reasons, mapping_version, status, created_at)
               SELECT gen_random_uuid(), %s, %s, %s, %s, batch_id, source_record_id, raw, reasons, %s, 'open', %s
               FROM _quarantine_stage""",
            (target.tenant_id, target.connection_id, target.stream, target.entity, target.mapping_version, now),
        )
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
