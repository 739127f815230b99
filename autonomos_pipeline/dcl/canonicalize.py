"""Canonicalize raw batches in bulk inside DuckDB: apply the active mapping, normalise, validate, quarantine."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, delete, select

from autonomos_pipeline.dcl.canonical_sql import (
    ERRORS,
    batch_filter,
    build_lookups,
    column_type,
    drop_stages,
    plan_fields,
    stage_input,
    stage_output,
)
from autonomos_pipeline.dcl.mappings import AWAITING_REVIEW, active_version
from autonomos_pipeline.dcl.quarantine_writer import QuarantineTarget, write_quarantine
from autonomos_pipeline.dcl.store import Connection, DriftEvent, QuarantineRecord, tenant_session
from autonomos_pipeline.dcl.warehouse import ensure_raw_tables
from schemas import canonical_fields

log = logging.getLogger(__name__)

_QUARANTINE_CHUNK = 50_000


def canonical_table(entity: str) -> str:
    """Name of the entity's canonical table in the tenant warehouse."""
    return {"account": "canonical_accounts", "opportunity": "canonical_opportunities", "contact": "canonical_contacts"}[
        entity
    ]


def ensure_canonical_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the canonical tables and the per-batch ledger if they do not exist."""
    ensure_raw_tables(con)
    for entity in ("account", "opportunity", "contact"):
        cols = ", ".join(f'"{f}" {_stored(column_type(entity, f))}' for f in canonical_fields(entity))
        con.execute(
            f"""CREATE TABLE IF NOT EXISTS {canonical_table(entity)} (
                connection_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, batch_id VARCHAR NOT NULL,
                row_index BIGINT NOT NULL, source_record_id VARCHAR, mapping_version INTEGER NOT NULL,
                ingested_at TIMESTAMPTZ NOT NULL, is_deleted BOOLEAN NOT NULL, {cols})"""
        )
    con.execute(
        """CREATE TABLE IF NOT EXISTS canonical_batches (
            batch_id VARCHAR PRIMARY KEY, connection_id VARCHAR NOT NULL, stream VARCHAR NOT NULL,
            entity VARCHAR NOT NULL, mapping_version INTEGER NOT NULL, read_count BIGINT NOT NULL,
            canonical_count BIGINT NOT NULL, quarantined_count BIGINT NOT NULL,
            canonicalized_at TIMESTAMPTZ NOT NULL, materialized_at TIMESTAMPTZ,
            state VARCHAR NOT NULL DEFAULT 'canonical')"""
    )


@dataclass
class StreamResult:
    """Counts of one (connection, stream) canonicalization."""

    connection_id: str
    stream: str
    mapping_version: int | None
    batches: int = 0
    read: int = 0
    canonical: int = 0
    quarantined: int = 0
    waiting_for_review: bool = False
    reasons: dict[str, int] = field(default_factory=dict)


def blocked_fingerprints(session: Any, connection_id: uuid.UUID, stream: str) -> set[str]:
    """Fingerprints with drift not yet repaired or approved: their rows wait in quarantine for a person."""
    rows = session.scalars(
        select(DriftEvent.to_fingerprint).where(
            DriftEvent.connection_id == connection_id,
            DriftEvent.stream == stream,
            DriftEvent.status.in_(("open", "awaiting_review")),
        )
    )
    return set(rows)


def canonicalize_stream(
    *,
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    connection: Connection,
    stream: str,
    entity: str,
    force: bool = False,
) -> StreamResult:
    """Canonicalize the stream's batches the active mapping has not processed yet (all of them if force).

    Batches read with a drifted schema that is not repaired yet, and every batch of a stream without a mapping,
    wait in quarantine with the reason "awaiting mapping review" and are processed again once that changes.
    """
    cid = str(connection.id)
    with tenant_session(tenant_id, engine) as s:
        version = active_version(s, connection.id, stream)
        blocked = blocked_fingerprints(s, connection.id, stream)
    number = version.version if version else 0
    result = StreamResult(cid, stream, version.version if version else None, waiting_for_review=bool(blocked))
    batches = con.execute(
        """SELECT b.batch_id, b.fingerprint, l.mapping_version, l.state
           FROM raw_batches b LEFT JOIN canonical_batches l USING (batch_id)
           WHERE b.connection_id = ? AND b.stream = ? ORDER BY b.ingested_at, b.batch_id""",
        [cid, stream],
    ).fetchall()
    due: dict[str, list[str]] = {"canonical": [], "awaiting_review": []}
    for batch_id, fingerprint, done_version, done_state in batches:
        state = "awaiting_review" if version is None or fingerprint in blocked else "canonical"
        if force or done_version != number or done_state != state:
            due[state].append(batch_id)
    batch_ids = due["canonical"] + due["awaiting_review"]
    if not batch_ids:
        return result
    result.batches = len(batch_ids)
    table = canonical_table(entity)
    con.execute(f"DELETE FROM {table} WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))", [batch_ids])
    con.execute("DELETE FROM canonical_batches WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))", [batch_ids])
    with tenant_session(tenant_id, engine) as s:
        s.execute(
            delete(QuarantineRecord).where(
                QuarantineRecord.batch_id.in_(batch_ids), QuarantineRecord.entity.is_not(None)
            )
        )
    if due["awaiting_review"]:
        _quarantine_all(con, engine, tenant_id, connection, stream, entity, due["awaiting_review"], number, result)
    if due["canonical"] and version is not None:
        mapping = {m["canonical_field"]: m for m in version.fields}
        with _QuarantineWrites(engine) as writes:
            for batch_id in due["canonical"]:  # one raw batch at a time: memory stays flat as the input grows
                _apply_mapping(
                    con, engine, tenant_id, connection, stream, entity, [batch_id], mapping, version.version, result,
                    writes,
                )  # fmt: skip
    return result


class _QuarantineWrites:
    """Writes one batch's quarantined rows to the serving store while DuckDB canonicalizes the next batch.

    The write of a batch runs on a worker thread (PostgreSQL only: the serving store works there, in its own
    process, while DuckDB works here); its ledger row is written here once the write has succeeded, before the
    next write starts, so batches are still written and recorded in order and a failed write leaves its batch (and
    the ones after it) without a ledger row: due again, exactly as when writing inline. At most one write is in
    flight, so at most two batches' quarantined rows are held in memory.
    """

    def __init__(self, engine: Engine) -> None:
        self._pool = ThreadPoolExecutor(1, "quarantine") if engine.dialect.name == "postgresql" else None
        self._pending: tuple[Future[int], Callable[[int], None]] | None = None

    def submit(self, write: Callable[[], int], then: Callable[[int], None]) -> None:
        """Run write (in the background when possible), then `then(rows written)` here once it has succeeded."""
        self.wait()
        if self._pool is None:
            then(write())
            return
        self._pending = (self._pool.submit(write), then)

    def wait(self) -> None:
        """Finish the write in flight: its error is raised, else its follow-up runs."""
        if self._pending is not None:
            future, then = self._pending
            self._pending = None
            then(future.result())

    def __enter__(self) -> _QuarantineWrites:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is None:
                self.wait()
            elif self._pending is not None:  # an earlier batch's write may still succeed: record it, keep exc
                with contextlib.suppress(Exception):
                    self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


def _quarantine_all(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    connection: Connection,
    stream: str,
    entity: str,
    batch_ids: list[str],
    version: int,
    result: StreamResult,
) -> None:
    reason = json.dumps([{"field": None, "reason": "awaiting_mapping_review", "message": AWAITING_REVIEW}])
    reader = con.sql(
        "SELECT batch_id, source_record_id, payload::VARCHAR AS raw, ? AS reasons FROM raw_records "
        "WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
        params=[reason, batch_ids],
    ).to_arrow_reader(_QUARANTINE_CHUNK)
    target = QuarantineTarget(tenant_id, str(connection.id), stream, entity, None)
    try:
        written = write_quarantine(engine, target, reader)
    finally:
        reader.close()
    _ledger(con, batch_ids, str(connection.id), stream, entity, version, state="awaiting_review")
    result.read += written
    result.quarantined += written
    result.reasons[AWAITING_REVIEW] = result.reasons.get(AWAITING_REVIEW, 0) + written


def _apply_mapping(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    connection: Connection,
    stream: str,
    entity: str,
    batch_ids: list[str],
    mapping: dict[str, dict[str, Any]],
    version: int,
    result: StreamResult,
    writes: _QuarantineWrites,
) -> None:
    """Apply the mapping to the batches in DuckDB; valid rows become canonical, the others are quarantined.

    The quarantined rows are read out of DuckDB in full (at most one batch's worth) so that the serving store can
    take them while DuckDB goes on with the next batch; the ledger row follows once they are written.
    """
    plans = plan_fields(entity, mapping)
    lookups: dict[str, pa.Table] = {}
    try:
        stage_input(con, plans, batch_ids)
        lookups = build_lookups(con, entity, plans)
        stage_output(con, entity, plans, lookups)
        names = ", ".join(f'"{f}"' for f in canonical_fields(entity))
        con.execute(
            f"""INSERT INTO {canonical_table(entity)} (connection_id, stream, batch_id, row_index, source_record_id,
                    mapping_version, ingested_at, is_deleted, {names})
                SELECT ?, ?, batch_id, row_index, source_record_id, ?, ingested_at, is_deleted, {names}
                FROM _canon_checked WHERE {ERRORS} IS NULL""",
            [str(connection.id), stream, version],
        )
        quarantined = con.sql(
            f"""SELECT c.batch_id, c.source_record_id, r.payload::VARCHAR AS raw, c.{ERRORS} AS reasons
                FROM _canon_checked c JOIN raw_records r ON r.batch_id = c.batch_id AND r.row_index = c.row_index
                WHERE c.{ERRORS} IS NOT NULL AND {batch_filter(batch_ids, "r.batch_id")}
                ORDER BY c.batch_id, c.row_index""",
            params=batch_ids if len(batch_ids) == 1 else [batch_ids],
        ).to_arrow_table()
        counts = {
            b: (int(r), int(c), int(q))
            for b, r, c, q in con.execute(
                f"""SELECT batch_id, count(*), count(*) FILTER ({ERRORS} IS NULL),
                           count(*) FILTER ({ERRORS} IS NOT NULL)
                    FROM _canon_checked GROUP BY batch_id"""
            ).fetchall()
        }
        reasons = con.execute(
            f"SELECT reason, count(*) FROM (SELECT unnest(json_extract_string({ERRORS}, '$[*].reason')) AS reason "
            f"FROM _canon_checked WHERE {ERRORS} IS NOT NULL) GROUP BY 1"
        ).fetchall()
    finally:
        drop_stages(con, lookups)
    target = QuarantineTarget(tenant_id, str(connection.id), stream, entity, version)

    def write() -> int:
        return write_quarantine(engine, target, quarantined.to_reader(_QUARANTINE_CHUNK))

    def record(_: int) -> None:
        _ledger(con, batch_ids, str(connection.id), stream, entity, version, counts)
        result.read += sum(r for r, _, _ in counts.values())
        result.canonical += sum(c for _, c, _ in counts.values())
        result.quarantined += sum(q for _, _, q in counts.values())
        for reason, count in reasons:
            result.reasons[reason] = result.reasons.get(reason, 0) + int(count)

    writes.submit(write, record)


def _ledger(
    con: duckdb.DuckDBPyConnection,
    batch_ids: list[str],
    connection_id: str,
    stream: str,
    entity: str,
    version: int,
    counts: dict[str, tuple[int, int, int]] | None = None,
    state: str = "canonical",
) -> None:
    now = datetime.now(UTC)
    if counts is None:
        raw_counts = dict(
            con.execute(
                "SELECT batch_id, count(*) FROM raw_records WHERE batch_id IN (SELECT unnest(?::VARCHAR[])) "
                "GROUP BY batch_id",
                [batch_ids],
            ).fetchall()
        )
        counts = {b: (int(raw_counts.get(b, 0)), 0, int(raw_counts.get(b, 0))) for b in batch_ids}
    for b in batch_ids:
        read, canon, quar = counts.get(b, (0, 0, 0))
        con.execute(
            "INSERT INTO canonical_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            [b, connection_id, stream, entity, version, read, canon, quar, now, state],
        )


def reconcile(con: duckdb.DuckDBPyConnection, entity: str) -> list[dict[str, Any]]:
    """Batches where read != canonical + quarantined, checked against the warehouse and the ledger."""
    table = canonical_table(entity)
    rows = con.execute(
        f"""SELECT l.batch_id, r.n AS read, coalesce(c.n, 0) AS canonical, l.quarantined_count
            FROM canonical_batches l
            JOIN (SELECT batch_id, count(*) n FROM raw_records GROUP BY batch_id) r USING (batch_id)
            LEFT JOIN (SELECT batch_id, count(*) n FROM {table} GROUP BY batch_id) c USING (batch_id)
            WHERE l.entity = ? AND r.n != coalesce(c.n, 0) + l.quarantined_count""",
        [entity],
    ).fetchall()
    return [{"batch_id": b, "read": r, "canonical": c, "quarantined": q} for b, r, c, q in rows]


def streams_for_entity(
    con: duckdb.DuckDBPyConnection, engine: Engine, tenant_id: str, entity: str
) -> list[tuple[Connection, str, str]]:
    """(connection, stream, entity) pairs of the tenant's raw streams that hold this entity."""
    from autonomos_pipeline.dcl.mappings import entity_for_stream

    ensure_canonical_tables(con)
    pairs = con.execute("SELECT DISTINCT connection_id, stream FROM raw_batches ORDER BY 1, 2").fetchall()
    out: list[tuple[Connection, str, str]] = []
    with tenant_session(tenant_id, engine) as s:
        for cid, stream in pairs:
            connection = s.get(Connection, uuid.UUID(cid))
            if connection is None:
                continue
            version = active_version(s, connection.id, stream)
            stream_entity = version.entity if version else entity_for_stream(stream)
            if stream_entity == entity:
                out.append((connection, stream, entity))
    return out


def canonicalize_entity(
    con: duckdb.DuckDBPyConnection, engine: Engine, tenant_id: str, entity: str
) -> list[StreamResult]:
    """Canonicalize every stream of the tenant that holds entity."""
    return [
        canonicalize_stream(
            con=con, engine=engine, tenant_id=tenant_id, connection=connection, stream=stream, entity=entity
        )
        for connection, stream, _ in streams_for_entity(con, engine, tenant_id, entity)
    ]


def _stored(sql_type: str) -> str:
    """A canonical column's type with its compression: zstd for text (DuckDB's default analysis of mostly distinct
    strings cost more than the canonical insert's other work)."""
    return f"{sql_type} USING COMPRESSION zstd" if sql_type == "VARCHAR" else sql_type
