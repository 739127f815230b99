"""Upsert canonical rows from the tenant warehouse into the serving store's materialized_<entity> tables."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, Table, bindparam, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from autonomos_pipeline.dcl.canonicalize import canonical_table, ensure_canonical_tables
from autonomos_pipeline.dcl.store import MATERIALIZED_MODELS, tenant_session
from autonomos_pipeline.dcl.store.db import TENANT_SETTING
from schemas import canonical_fields
from schemas.canonical import ID_FIELDS

ID_NAMESPACE = uuid.UUID("6f1c2d1e-5a0b-4a55-9d7e-0a7f3c1b2e44")
_CHUNK = 50_000


def row_id(tenant_id: str, connection_id: str, entity: str, record_id: str) -> uuid.UUID:
    """The stable id of a materialized row: the same source record always gets the same id."""
    return uuid.uuid5(ID_NAMESPACE, f"{tenant_id}/{connection_id}/{entity}/{record_id}")


@dataclass
class MaterializeReport:
    """What one entity's materialization did."""

    entity: str
    upserted: int = 0
    deleted: int = 0
    batches: int = 0


def _pending_rows_sql(entity: str) -> str:
    """Latest canonical version of each record among not-yet-materialized batches."""
    return f"""
        SELECT c.*
        FROM {canonical_table(entity)} c
        JOIN canonical_batches l ON l.batch_id = c.batch_id AND l.mapping_version = c.mapping_version
        WHERE l.materialized_at IS NULL
        QUALIFY row_number() OVER (
            PARTITION BY c.connection_id, c."{ID_FIELDS[entity]}"
            ORDER BY c.ingested_at DESC, c.batch_id DESC, c.row_index DESC) = 1
    """


def materialize_entity(
    con: duckdb.DuckDBPyConnection, engine: Engine, tenant_id: str, entity: str, source_systems: dict[str, str]
) -> MaterializeReport:
    """Upsert the entity's new canonical rows (idempotently) and mark source deletions; return the counts."""
    ensure_canonical_tables(con)
    report = MaterializeReport(entity)
    pending = [
        r[0]
        for r in con.execute(
            "SELECT batch_id FROM canonical_batches WHERE entity = ? AND materialized_at IS NULL", [entity]
        ).fetchall()
    ]
    if not pending:
        return report
    report.batches = len(pending)
    model = MATERIALIZED_MODELS[entity]
    table: Table = model.__table__  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    reader = con.sql(_pending_rows_sql(entity)).to_arrow_reader(_CHUNK)
    for batch in reader:
        live, gone = _split_deleted(pa.Table.from_batches([batch]))
        if live.num_rows and engine.dialect.name == "postgresql":
            _pg_copy_upsert(
                engine, tenant_id, table, entity, _serving_table(live, tenant_id, entity, source_systems, now)
            )
        elif live.num_rows:
            rows = _serving_rows(live, tenant_id, entity, source_systems, now)
            _core_upsert(engine, tenant_id, table, _identity(entity), _update_columns(entity), rows)
        if gone.num_rows:
            _mark_deleted(engine, tenant_id, table, entity, _serving_rows(gone, tenant_id, entity, source_systems, now))
        report.upserted += live.num_rows
        report.deleted += gone.num_rows
    con.execute(
        "UPDATE canonical_batches SET materialized_at = ? WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
        [now, pending],
    )
    return report


def _split_deleted(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    deleted = table.column("is_deleted")
    return table.filter(pc.invert(deleted)), table.filter(deleted)


def _serving_table(
    table: pa.Table, tenant_id: str, entity: str, source_systems: dict[str, str], now: datetime
) -> pa.Table:
    """The rows in the serving table's shape (lineage columns added), built column-wise with Arrow."""
    n = table.num_rows
    id_field = ID_FIELDS[entity]
    connections = table.column("connection_id").to_pylist()
    record_ids = table.column(id_field).to_pylist()
    ids = [str(row_id(tenant_id, c, entity, str(r))) for c, r in zip(connections, record_ids, strict=True)]
    columns: dict[str, pa.Array | pa.ChunkedArray] = {f: table.column(f) for f in canonical_fields(entity)}
    columns.update(
        id=pa.array(ids, pa.string()),
        tenant_id=pa.array([tenant_id] * n, pa.string()),
        connection_id=table.column("connection_id"),
        source_system=pa.array([source_systems.get(c, "unknown") for c in connections], pa.string()),
        source_record_id=pc.coalesce(table.column("source_record_id"), pc.cast(table.column(id_field), pa.string())),
        mapping_version=table.column("mapping_version"),
        ingested_at=table.column("ingested_at"),
        materialized_at=pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        is_deleted=table.column("is_deleted"),
    )
    return pa.table(columns)


def _serving_rows(
    table: pa.Table, tenant_id: str, entity: str, source_systems: dict[str, str], now: datetime
) -> list[dict[str, Any]]:
    """The rows as dicts for the SQLAlchemy path (SQLite, deletions)."""
    rows = _serving_table(table, tenant_id, entity, source_systems, now).to_pylist()
    for r in rows:
        r["id"], r["tenant_id"], r["connection_id"] = (
            uuid.UUID(r["id"]), uuid.UUID(r["tenant_id"]), uuid.UUID(r["connection_id"])
        )  # fmt: skip
    return rows


def _identity(entity: str) -> list[str]:
    return ["tenant_id", "connection_id", ID_FIELDS[entity]]


_LINEAGE_UPDATE = ("connection_id", "source_system", "source_record_id", "mapping_version", "ingested_at")


def _update_columns(entity: str) -> list[str]:
    return [f for f in canonical_fields(entity) if f != ID_FIELDS[entity]] + [*_LINEAGE_UPDATE, "is_deleted"]


def _core_upsert(
    engine: Engine,
    tenant_id: str,
    table: Table,
    identity: list[str],
    update_cols: list[str],
    rows: list[dict[str, Any]],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE that changes a row only when a value differs (so re-runs change nothing)."""
    dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(table)
    changed = [table.c[c].is_distinct_from(stmt.excluded[c]) for c in update_cols]
    stmt = stmt.on_conflict_do_update(
        index_elements=identity,
        set_={**{c: stmt.excluded[c] for c in update_cols}, "materialized_at": stmt.excluded.materialized_at},
        where=or_(*changed),
    )
    with tenant_session(tenant_id, engine) as s:
        s.execute(stmt, rows)


def _mark_deleted(engine: Engine, tenant_id: str, table: Table, entity: str, rows: list[dict[str, Any]]) -> None:
    """Mark served records the source deleted; a deletion of a record never served has nothing to mark."""
    id_field = ID_FIELDS[entity]
    stmt = (
        update(table)
        .where(
            table.c.tenant_id == bindparam("b_tenant_id"),
            table.c.connection_id == bindparam("b_connection_id"),
            table.c[id_field] == bindparam("b_record_id"),
            table.c.is_deleted.is_(False),
        )
        .values(
            is_deleted=True,
            ingested_at=bindparam("b_ingested_at"),
            mapping_version=bindparam("b_mapping_version"),
            materialized_at=bindparam("b_materialized_at"),
        )
    )
    params = [
        {
            "b_tenant_id": r["tenant_id"],
            "b_connection_id": r["connection_id"],
            "b_record_id": r[id_field],
            "b_ingested_at": r["ingested_at"],
            "b_mapping_version": r["mapping_version"],
            "b_materialized_at": r["materialized_at"],
        }
        for r in rows
    ]
    with tenant_session(tenant_id, engine) as s:
        s.connection().execute(stmt, params)


def _pg_copy_upsert(engine: Engine, tenant_id: str, table: Table, entity: str, rows: pa.Table) -> None:
    """COPY into a temporary staging table, then one INSERT ... ON CONFLICT from it (PostgreSQL bulk path)."""
    cols = rows.column_names
    buf = io.BytesIO()
    pacsv.write_csv(rows, buf, pacsv.WriteOptions(include_header=False))
    buf.seek(0)
    identity = ", ".join(f'"{c}"' for c in _identity(entity))
    update_cols = [*_update_columns(entity), "materialized_at"]
    compare = [c for c in update_cols if c != "materialized_at"]
    col_list = ", ".join(f'"{c}"' for c in cols)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id))
        cur.execute(f"CREATE TEMP TABLE _stage (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
        cur.copy_expert(f"COPY _stage ({col_list}) FROM STDIN WITH (FORMAT csv)", buf)
        cur.execute(
            f"""INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM _stage
                ON CONFLICT ({identity}) DO UPDATE SET
                {", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update_cols)}
                WHERE ({", ".join(f'{table.name}."{c}"' for c in compare)})
                      IS DISTINCT FROM ({", ".join(f'EXCLUDED."{c}"' for c in compare)})"""
        )
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def live_record_count(con: duckdb.DuckDBPyConnection, entity: str) -> int:
    """Records whose latest canonical version is not a deletion: what the serving table must hold."""
    ensure_canonical_tables(con)
    row = con.execute(
        f"""SELECT count(*) FROM (
                SELECT is_deleted FROM {canonical_table(entity)}
                QUALIFY row_number() OVER (
                    PARTITION BY connection_id, "{ID_FIELDS[entity]}"
                    ORDER BY ingested_at DESC, batch_id DESC, row_index DESC) = 1)
            WHERE NOT is_deleted"""
    ).fetchone()
    return int(row[0]) if row else 0
