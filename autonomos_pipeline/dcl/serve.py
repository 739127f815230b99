"""Upsert canonical rows from the tenant warehouse into the serving store's materialized_<entity> tables."""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import psycopg2
import pyarrow as pa
from psycopg2 import errors as pg_errors
from sqlalchemy import Engine, Table, bindparam, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPICursor

from autonomos_pipeline.dcl.binary_copy import binary_select, copy_binary, encode
from autonomos_pipeline.dcl.canonicalize import canonical_table, ensure_canonical_tables
from autonomos_pipeline.dcl.store import MATERIALIZED_MODELS, tenant_session
from autonomos_pipeline.dcl.store.db import TENANT_SETTING
from autonomos_pipeline.dcl.view_cache import bump_data_version
from schemas import canonical_fields
from schemas.canonical import ID_FIELDS

log = logging.getLogger(__name__)

ID_NAMESPACE = uuid.UUID("6f1c2d1e-5a0b-4a55-9d7e-0a7f3c1b2e44")
_CHUNK = 50_000
#: PostgreSQL connections that upsert chunks in parallel (each backend maintains the indexes on its own core).
_PG_WORKERS = 2
#: A connection's first load of at least this many rows gets a partition of its own, indexed once (PostgreSQL).
BULK_LOAD_MIN_ROWS = 50_000
#: A bulk load's constant columns: its table's defaults fill them (COPY sending them cost PostgreSQL a third more).
LOAD_DEFAULTS = ("tenant_id", "connection_id", "source_system", "materialized_at")


def row_id(tenant_id: str, connection_id: str, entity: str, record_id: str) -> uuid.UUID:
    """The stable id of a materialized row: the same source record always gets the same id."""
    return uuid.uuid5(ID_NAMESPACE, f"{tenant_id}/{connection_id}/{entity}/{record_id}")


@dataclass
class MaterializeReport:
    """What one entity's materialization did."""

    entity: str
    upserted: int = 0
    #: Of the upserted rows, those written by a plain INSERT: their connection had no served row yet (PostgreSQL).
    first_load: int = 0
    #: Of those, the rows bulk-loaded into a new partition of their connection, indexed after the load (PostgreSQL).
    bulk_loaded: int = 0
    deleted: int = 0
    batches: int = 0


def _pending_rows_sql(entity: str, latest_only: bool = True) -> str:
    """Latest canonical version of each record among not-yet-materialized batches (every pending row if not
    latest_only: for when no record has two)."""
    latest = f"""
        QUALIFY row_number() OVER (
            PARTITION BY c.connection_id, c."{ID_FIELDS[entity]}"
            ORDER BY c.ingested_at DESC, c.batch_id DESC, c.row_index DESC) = 1"""
    return f"""
        SELECT c.*
        FROM {canonical_table(entity)} c
        JOIN canonical_batches l ON l.batch_id = c.batch_id AND l.mapping_version = c.mapping_version
        WHERE l.materialized_at IS NULL{latest if latest_only else ""}
    """


def _define_pending(con: duckdb.DuckDBPyConnection, entity: str) -> str:
    """Define _pending, the rows to serve: a view over the canonical table when no record has two pending versions
    (a first load: rows stream from disk, nothing is copied), else a table of each record's latest version (one
    window pass). Returns what to DROP."""
    repeated = con.execute(
        f"""SELECT count(*) FROM ({_pending_rows_sql(entity, latest_only=False)})
            GROUP BY connection_id, "{ID_FIELDS[entity]}" HAVING count(*) > 1 LIMIT 1"""
    ).fetchall()
    if repeated:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pending AS {_pending_rows_sql(entity)}")
        return "TABLE"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _pending AS {_pending_rows_sql(entity, latest_only=False)}")
    return "VIEW"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _row_id_sql(tenant_id: str, entity: str, record_id: str, binary: bool = False) -> tuple[str, str]:
    """row_id() in DuckDB SQL: the SHA-1 of (namespace || name) as __h, and the uuid5 built from __h, as text or
    (binary) as its 16 bytes."""
    name = f"{_literal(f'{tenant_id}/')} || connection_id || {_literal(f'/{entity}/')} || {record_id}"
    digest = f"sha1(from_hex('{ID_NAMESPACE.hex}') || encode({name}))"
    variant = "substr('89ab', ((strpos('0123456789abcdef', substr(__h, 17, 1)) - 1) & 3) + 1, 1)"
    if binary:
        return digest, f"unhex(substr(__h, 1, 12) || '5' || substr(__h, 14, 3) || {variant} || substr(__h, 18, 15))"
    uuid_text = (
        f"substr(__h, 1, 8) || '-' || substr(__h, 9, 4) || '-5' || substr(__h, 14, 3) || '-' || {variant} "
        "|| substr(__h, 18, 3) || '-' || substr(__h, 21, 12)"
    )
    return digest, uuid_text


def _serving_sql(
    entity: str, tenant_id: str, source_systems: dict[str, str], now: datetime, where: str, binary_id: bool = False
) -> str:
    """The rows of _pending that match where, in the serving table's shape (id and lineage computed in SQL; the id
    as uuid text, or as its 16 bytes for a binary COPY)."""
    id_field = ID_FIELDS[entity]
    systems = " ".join(f"WHEN {_literal(c)} THEN {_literal(s)}" for c, s in source_systems.items())
    fields = ", ".join(f'"{f}"' for f in canonical_fields(entity))
    digest, uuid_text = _row_id_sql(tenant_id, entity, f'"{id_field}"::VARCHAR', binary_id)
    return f"""
        SELECT {fields}, {uuid_text} AS id, {_literal(tenant_id)} AS tenant_id, connection_id,
               {f"CASE connection_id {systems} ELSE 'unknown' END" if systems else "'unknown'"} AS source_system,
               coalesce(source_record_id, "{id_field}"::VARCHAR) AS source_record_id, mapping_version, ingested_at,
               {_literal(now.isoformat())}::TIMESTAMPTZ AS materialized_at, is_deleted
        FROM (SELECT *, {digest} AS __h FROM _pending WHERE {where})
    """


def pg_serving_sql(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    tenant_id: str,
    source_systems: dict[str, str],
    now: datetime,
    where: str,
    exclude: tuple[str, ...] = (),
) -> tuple[str, list[str]]:
    """_serving_sql's rows, but the columns in exclude, in the binary form of the serving table's columns (for a
    binary COPY on PostgreSQL); returns the query and its columns."""
    table: Table = MATERIALIZED_MODELS[entity].__table__  # type: ignore[attr-defined]
    return binary_select(
        con, table, _serving_sql(entity, tenant_id, source_systems, now, where, binary_id=True), exclude
    )


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
    kind = _define_pending(con, entity)
    try:
        _serve_pending(con, engine, tenant_id, entity, table, source_systems, now, report)
    finally:
        con.execute(f"DROP {kind} IF EXISTS _pending")
        bump_data_version(tenant_id)  # chunks may have committed even on failure: retire the views' cached totals
    con.execute(
        "UPDATE canonical_batches SET materialized_at = ? WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
        [now, pending],
    )
    return report


def _serve_pending(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    entity: str,
    table: Table,
    source_systems: dict[str, str],
    now: datetime,
    report: MaterializeReport,
) -> None:
    """Upsert the live rows of _pending, then mark the deleted ones."""
    if engine.dialect.name == "postgresql":
        _pg_serve_live(con, engine, tenant_id, entity, table, source_systems, now, report)
    else:
        live = con.sql(_serving_sql(entity, tenant_id, source_systems, now, "NOT is_deleted"))
        for batch in live.to_arrow_reader(_CHUNK):
            rows = pa.Table.from_batches([batch])
            _core_upsert(engine, tenant_id, table, _key(engine), _update_columns(entity), _as_rows(rows))
            report.upserted += rows.num_rows
    gone = con.sql(_serving_sql(entity, tenant_id, source_systems, now, "is_deleted")).to_arrow_table()
    if gone.num_rows:
        _mark_deleted(engine, tenant_id, table, _as_rows(gone))
        report.deleted += gone.num_rows


def _as_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as dicts for the SQLAlchemy path (SQLite, deletions)."""
    rows = table.to_pylist()
    for r in rows:
        r["id"], r["tenant_id"], r["connection_id"] = (
            uuid.UUID(r["id"]), uuid.UUID(r["tenant_id"]), uuid.UUID(r["connection_id"])
        )  # fmt: skip
    return rows


#: The serving tables' primary key on PostgreSQL: id with the partition keys (migration 0009).
_PG_KEY = ("id", "tenant_id", "connection_id")


def _key(engine: Engine) -> list[str]:
    """The serving tables' primary key (id alone on SQLite). id is the row_id of tenant, connection and record id, so
    the key is also the record's identity."""
    return list(_PG_KEY) if engine.dialect.name == "postgresql" else ["id"]


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


def _mark_deleted(engine: Engine, tenant_id: str, table: Table, rows: list[dict[str, Any]]) -> None:
    """Mark served records the source deleted; a deletion of a record never served has nothing to mark."""
    stmt = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.tenant_id == bindparam("b_tenant_id"),
            table.c.connection_id == bindparam("b_connection_id"),
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
            "b_id": r["id"],
            "b_tenant_id": r["tenant_id"],
            "b_connection_id": r["connection_id"],
            "b_ingested_at": r["ingested_at"],
            "b_mapping_version": r["mapping_version"],
            "b_materialized_at": r["materialized_at"],
        }
        for r in rows
    ]
    with tenant_session(tenant_id, engine) as s:
        s.connection().execute(stmt, params)


def _pg_serve_live(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    entity: str,
    table: Table,
    source_systems: dict[str, str],
    now: datetime,
    report: MaterializeReport,
) -> None:
    """Write the live rows of _pending: bulk-loaded or plainly inserted for connections served for the first time,
    else upserted.

    A first load cannot conflict (the pending rows are one per record), so it skips ON CONFLICT, which costs about
    8 µs a row; one of at least BULK_LOAD_MIN_ROWS rows goes into a partition of its own (_pg_bulk_load). The check
    runs before the chunks' transactions, so it only picks the path: a load that serves the connection in between
    makes the bulk load fall back and the plain insert fail, and that chunk falls back to the upsert (_plain_insert).
    """
    counts = dict(
        con.execute("SELECT connection_id, count(*) FROM _pending WHERE NOT is_deleted GROUP BY 1").fetchall()
    )
    first = _unserved_connections(engine, tenant_id, table, sorted(counts))
    later = [c for c in sorted(counts) if c not in first]
    for connection in [c for c in first if counts[c] >= BULK_LOAD_MIN_ROWS]:
        loaded = _pg_bulk_load(con, engine, tenant_id, entity, connection, source_systems, now)
        if loaded is not None:
            first.remove(connection)
            report.upserted += loaded
            report.first_load += loaded
            report.bulk_loaded += loaded
    for connections, first_load in ((first, True), (later, False)):
        if not connections:
            continue
        where = f"NOT is_deleted AND connection_id IN ({', '.join(map(_literal, connections))})"
        query, _ = pg_serving_sql(con, entity, tenant_id, source_systems, now, where)
        rows = con.sql(query).to_arrow_reader(_CHUNK)
        written, inserted = _pg_upsert_all(engine, tenant_id, table, entity, rows, first_load)
        report.upserted += written
        report.first_load += inserted
    if report.first_load:
        log.info("%s: %d rows of a first load inserted without ON CONFLICT", entity, report.first_load)


def _pg_bulk_load(
    con: duckdb.DuckDBPyConnection,
    engine: Engine,
    tenant_id: str,
    entity: str,
    connection_id: str,
    source_systems: dict[str, str],
    now: datetime,
) -> int | None:
    """Load a connection's first rows into a new table, index it once and attach it as the connection's partition
    (migration 0008), all in one transaction; return the rows, or None when the connection cannot be bulk-loaded
    (it has served rows by now, or the load failed: the caller then inserts the rows the ordinary way).

    Readers see none of it until the commit; other tenants' readers never wait for it, the tenant's own only for the
    ATTACH at the end. COPY FREEZE writes the rows already frozen, as the table is new in this transaction.
    """
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id))
        system = source_systems.get(connection_id, "unknown")
        cur.execute("SELECT serving_begin_load(%s, %s, %s, %s, %s)", (entity, tenant_id, connection_id, system, now))
        load_table = _scalar(cur)
        if load_table is None:
            raw.rollback()
            return None
        where = f"NOT is_deleted AND connection_id = {_literal(connection_id)}"
        started = time.perf_counter()
        query, columns = pg_serving_sql(con, entity, tenant_id, source_systems, now, where, exclude=LOAD_DEFAULTS)
        copy_binary(con, query, cur, load_table, columns, freeze=True)
        copied = time.perf_counter()
        cur.execute("SELECT serving_finish_load(%s, %s, %s)", (entity, tenant_id, connection_id))
        loaded = _scalar(cur)
        raw.commit()
        log.info(
            "%s: %d rows of connection %s bulk-loaded as %s (copy %.1f s, checks, indexes and attach %.1f s)",
            entity, loaded, connection_id, load_table, copied - started, time.perf_counter() - copied,
        )  # fmt: skip
        return int(loaded)
    except psycopg2.Error as exc:
        raw.rollback()
        log.warning("%s: bulk load of connection %s failed, inserting instead: %s", entity, connection_id, exc)
        return None
    finally:
        raw.close()


def _scalar(cur: Any) -> Any:
    """The first column of the cursor's one row."""
    row = cur.fetchone()
    assert row is not None, "the statement returns one row"
    return row[0]


def _unserved_connections(engine: Engine, tenant_id: str, table: Table, connections: list[str]) -> list[str]:
    """The connections of the list with no row (live or deleted) in the serving table yet."""
    tid = uuid.UUID(tenant_id)
    with tenant_session(tenant_id, engine) as s:
        return [
            c
            for c in connections
            if not s.scalar(select(exists().where(table.c.tenant_id == tid, table.c.connection_id == uuid.UUID(c))))
        ]


def _pg_upsert_all(
    engine: Engine, tenant_id: str, table: Table, entity: str, batches: pa.RecordBatchReader, first_load: bool
) -> tuple[int, int]:
    """Write chunks on _PG_WORKERS connections at once while DuckDB computes the next chunks.

    Chunks hold distinct records (the pending rows are one per record), so their writes never touch the same row;
    at most two chunks per worker are in memory at a time. Returns the rows written and those plainly inserted.
    """
    written = inserted = 0
    in_flight: deque[Future[int]] = deque()
    with ThreadPoolExecutor(max_workers=_PG_WORKERS, thread_name_prefix="autonomos-upsert") as pool:
        for batch in batches:
            while len(in_flight) >= 2 * _PG_WORKERS:
                inserted += in_flight.popleft().result()
            rows = pa.Table.from_batches([batch])
            in_flight.append(pool.submit(_pg_copy_upsert, engine, tenant_id, table, entity, rows, first_load))
            written += batch.num_rows
        while in_flight:
            inserted += in_flight.popleft().result()
    return written, inserted


def _pg_copy_upsert(engine: Engine, tenant_id: str, table: Table, entity: str, rows: pa.Table, first_load: bool) -> int:
    """COPY into a temporary staging table, then one INSERT from it; return how many rows skipped ON CONFLICT.
    The rows are pg_serving_sql's (the binary form of the serving columns).

    With first_load the INSERT has no ON CONFLICT clause. Rather than lock out concurrent loads, a unique violation
    (a load of the same connection committed rows since the check) rolls the plain INSERT back to a savepoint and
    the chunk is upserted as without first_load.
    """
    cols = rows.column_names
    buf = io.BytesIO(encode(rows))
    col_list = ", ".join(f'"{c}"' for c in cols)
    insert = f"INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM _stage"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id))
        cur.execute(f"CREATE TEMP TABLE _stage (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
        cur.copy_expert(f"COPY _stage ({col_list}) FROM STDIN WITH (FORMAT binary)", buf)
        plain = first_load and _plain_insert(cur, insert, entity)
        if not plain:
            cur.execute(f"{insert} {_on_conflict_sql(table, entity)}")
        raw.commit()
        return rows.num_rows if plain else 0
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def _plain_insert(cur: DBAPICursor, insert: str, entity: str) -> bool:
    """Run insert in a savepoint; on a unique violation roll it back and return False."""
    cur.execute("SAVEPOINT first_load")
    try:
        cur.execute(insert)
    except pg_errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT first_load")
        log.warning("%s: a first load met served rows (a concurrent load?), upserting instead", entity)
        return False
    cur.execute("RELEASE SAVEPOINT first_load")
    return True


def _on_conflict_sql(table: Table, entity: str) -> str:
    """The ON CONFLICT clause that changes a served row only when a value differs (so re-runs change nothing)."""
    identity = ", ".join(f'"{c}"' for c in _PG_KEY)
    update_cols = [*_update_columns(entity), "materialized_at"]
    compare = [c for c in update_cols if c != "materialized_at"]
    return f"""ON CONFLICT ({identity}) DO UPDATE SET
        {", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update_cols)}
        WHERE ({", ".join(f'{table.name}."{c}"' for c in compare)})
              IS DISTINCT FROM ({", ".join(f'EXCLUDED."{c}"' for c in compare)})"""


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
