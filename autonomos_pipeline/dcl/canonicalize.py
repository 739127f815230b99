"""Canonicalize raw batches in bulk inside DuckDB: apply the active mapping, normalise, validate, quarantine."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, delete, insert, select

from autonomos_pipeline.dcl.mappings import AWAITING_REVIEW, active_version
from autonomos_pipeline.dcl.store import Connection, DriftEvent, QuarantineRecord, tenant_session
from autonomos_pipeline.dcl.warehouse import ensure_raw_tables
from schemas import canonical_fields, required_fields
from schemas.canonical import ID_FIELDS
from schemas.normalize import DEFAULT_NORMALISER, NORMALISERS, NULL_LIKE, NormalisationError

log = logging.getLogger(__name__)

#: DuckDB column types of the canonical tables, by default normaliser.
_SQL_TYPES = {
    "int": "BIGINT",
    "money": "DECIMAL(24,4)",
    "percent_auto": "DECIMAL(7,4)",
    "percent_fraction": "DECIMAL(7,4)",
    "percent_points": "DECIMAL(7,4)",
    "datetime": "TIMESTAMPTZ",
    "date": "DATE",
}
_ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "DECIMAL(24,4)": pa.decimal128(24, 4),
    "DECIMAL(7,4)": pa.decimal128(7, 4),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
}
_PHONE_COUNTRY = {"account": "billing_country", "contact": "mailing_country"}
#: Values these patterns accept convert in SQL exactly as the Python normaliser would; others go through Python.
_FAST_SQL = {
    "int": "TRY_CAST(CASE WHEN regexp_full_match(trim({x}), '[+-]?[0-9]{{1,18}}') THEN trim({x}) END AS BIGINT)",
    "money": "TRY_CAST(CASE WHEN regexp_full_match(trim({x}), '-?[0-9]{{1,19}}([.][0-9]{{1,4}})?') "
    "THEN trim({x}) END AS DECIMAL(24,4))",
}


def column_type(entity: str, name: str) -> str:
    """The DuckDB type of a canonical column."""
    return _SQL_TYPES.get(DEFAULT_NORMALISER[(entity, name)], "VARCHAR")


def canonical_table(entity: str) -> str:
    """Name of the entity's canonical table in the tenant warehouse."""
    return {"account": "canonical_accounts", "opportunity": "canonical_opportunities", "contact": "canonical_contacts"}[
        entity
    ]


def ensure_canonical_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the canonical tables and the per-batch ledger if they do not exist."""
    ensure_raw_tables(con)
    for entity in ("account", "opportunity", "contact"):
        cols = ", ".join(f'"{f}" {column_type(entity, f)}' for f in canonical_fields(entity))
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


def _normalise_column(
    values: Sequence[Any], fn: Callable[..., object], name: str, extra: Sequence[Any] | None = None
) -> tuple[list[Any], list[dict[str, Any] | None]]:
    """Normalise a column by its distinct values (each distinct value is converted once)."""
    cache: dict[Any, tuple[Any, dict[str, Any] | None]] = {}
    out: list[Any] = []
    errors: list[dict[str, Any] | None] = []
    keys = zip(values, extra, strict=True) if extra is not None else ((v, None) for v in values)
    for key in keys:
        hit = cache.get(key)
        if hit is None:
            value, hint = key
            try:
                converted = fn(value, field=name, country=hint) if extra is not None else fn(value, field=name)
                hit = (converted, None)
            except NormalisationError as exc:
                hit = (None, {"field": name, **exc.as_dict()})
            cache[key] = hit
        out.append(hit[0])
        errors.append(hit[1])
    return out, errors


def _str_sql(expr: str) -> str:
    nulls = ", ".join(f"'{v}'" for v in sorted(NULL_LIKE))
    return (
        f"CASE WHEN lower(trim({expr})) IN ({nulls}) THEN NULL ELSE regexp_replace(trim({expr}), '\\s+', ' ', 'g') END"
    )


def _quote_path(source_field: str) -> str:
    return "$." + json.dumps(source_field)


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
        for batch_id in due["canonical"]:  # one raw batch at a time: memory stays flat as the input grows
            _apply_mapping(
                con, engine, tenant_id, connection, stream, entity, [batch_id], mapping, version.version, result
            )
    return result


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
    rows = con.execute(
        "SELECT batch_id, source_record_id, payload FROM raw_records WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
        [batch_ids],
    ).fetchall()
    reason = [{"field": None, "reason": "awaiting_mapping_review", "message": AWAITING_REVIEW}]
    _insert_quarantine(
        engine,
        tenant_id,
        [
            {
                "connection_id": connection.id,
                "stream": stream,
                "entity": entity,
                "batch_id": b,
                "source_record_id": rid,
                "raw": json.loads(p),
                "reasons": reason,
                "mapping_version": None,
            }
            for b, rid, p in rows
        ],
    )
    _ledger(con, batch_ids, str(connection.id), stream, entity, version, state="awaiting_review")
    result.read += len(rows)
    result.quarantined += len(rows)
    result.reasons[AWAITING_REVIEW] = result.reasons.get(AWAITING_REVIEW, 0) + len(rows)


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
) -> None:
    fields = canonical_fields(entity)
    selects = []
    for f in fields:
        m = mapping.get(f)
        if m is None:
            selects.append(f'NULL::VARCHAR AS "{f}"')
            continue
        paths = [m["source_field"], *m.get("previous_source_fields", [])]
        extracts = [f"json_extract_string(payload, '{_quote_path(p).replace(chr(39), chr(39) * 2)}')" for p in paths]
        expr = extracts[0] if len(extracts) == 1 else f"coalesce({', '.join(extracts)})"
        normaliser = m.get("normaliser") or DEFAULT_NORMALISER[(entity, f)]
        selects.append(f'{_str_sql(expr) if normaliser == "str" else expr} AS "{f}"')
        if normaliser in _FAST_SQL:
            selects.append(f'{_FAST_SQL[normaliser].format(x=expr)} AS "__fast__{f}"')
    arrow: pa.Table = con.sql(
        f"""SELECT batch_id, row_index, source_record_id, ingested_at, is_deleted, payload, {", ".join(selects)}
            FROM raw_records WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))
            ORDER BY ingested_at, batch_id, row_index""",
        params=[batch_ids],
    ).to_arrow_table()
    n = arrow.num_rows
    deleted = arrow.column("is_deleted").to_pylist()
    columns: dict[str, list[Any]] = {}
    row_errors: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    hint_fields = set(_PHONE_COUNTRY.values())
    for f in sorted(fields, key=lambda name: name not in hint_fields):  # countries first: phones need them
        raw_values = arrow.column(f).to_pylist()
        m = mapping.get(f)
        normaliser = (m.get("normaliser") if m else None) or DEFAULT_NORMALISER[(entity, f)]
        if m is None or normaliser == "str":
            columns[f] = raw_values
            continue
        country_field = _PHONE_COUNTRY.get(entity) if normaliser == "phone" else None
        hints = columns.get(country_field) if country_field else None
        fast = arrow.column(f"__fast__{f}").to_pylist() if f"__fast__{f}" in arrow.column_names else None
        if fast is None:
            values, errors = _normalise_column(raw_values, NORMALISERS[normaliser], f, hints)
            pending: Sequence[int] = range(n)
        else:  # plain numbers were converted in SQL; only the rest goes through the Python normaliser
            values = fast
            pending = [i for i in range(n) if fast[i] is None and raw_values[i] is not None]
            converted, errors = _normalise_column([raw_values[i] for i in pending], NORMALISERS[normaliser], f)
            for i, value in zip(pending, converted, strict=True):
                values[i] = value
        columns[f] = values
        for i, err in zip(pending, errors, strict=True):
            if err is not None and not deleted[i]:
                row_errors[i].append({**err, "source_field": m["source_field"]})
    id_field = ID_FIELDS[entity]
    if id_field not in mapping:  # deletions carry only the record id: take it from the lineage column
        columns[id_field] = arrow.column("source_record_id").to_pylist()
    for i in range(n):
        if deleted[i]:
            if columns[id_field][i] is None:
                columns[id_field][i] = arrow.column("source_record_id")[i].as_py()
            continue
        for req in required_fields(entity):
            if columns[req][i] is None and not any(e["field"] == req for e in row_errors[i]):
                row_errors[i].append(
                    {"field": req, "value": None, "reason": "missing_required", "message": f"{req} is required"}
                )
        if entity == "account" and (columns["employee_count"][i] or 0) < 0:
            row_errors[i].append(
                {"field": "employee_count", "value": columns["employee_count"][i], "reason": "negative",
                 "message": "employee_count cannot be negative"}
            )  # fmt: skip
    _mark_duplicate_ids(arrow.column("batch_id").to_pylist(), columns[id_field], row_errors, id_field)
    good = [i for i in range(n) if not row_errors[i]]
    bad = [i for i in range(n) if row_errors[i]]
    _write_canonical(con, entity, str(connection.id), stream, version, arrow, columns, good)
    payloads = arrow.column("payload").to_pylist()
    batch_col = arrow.column("batch_id").to_pylist()
    rid_col = arrow.column("source_record_id").to_pylist()
    _insert_quarantine(
        engine,
        tenant_id,
        [
            {
                "connection_id": connection.id,
                "stream": stream,
                "entity": entity,
                "batch_id": batch_col[i],
                "source_record_id": rid_col[i],
                "raw": json.loads(payloads[i]),
                "reasons": row_errors[i],
                "mapping_version": version,
            }
            for i in bad
        ],
    )
    counts: dict[str, tuple[int, int, int]] = {}
    for i in range(n):
        r, c, q = counts.get(batch_col[i], (0, 0, 0))
        counts[batch_col[i]] = (r + 1, c + (0 if row_errors[i] else 1), q + (1 if row_errors[i] else 0))
    _ledger(con, batch_ids, str(connection.id), stream, entity, version, counts)
    result.read += n
    result.canonical += len(good)
    result.quarantined += len(bad)
    for i in bad:
        for err in row_errors[i]:
            result.reasons[err["reason"]] = result.reasons.get(err["reason"], 0) + 1


def _mark_duplicate_ids(
    batches: list[str], ids: list[Any], row_errors: list[list[dict[str, Any]]], id_field: str
) -> None:
    """Within one batch an id may appear once: later repeats are quarantined as duplicates."""
    seen: set[tuple[str, Any]] = set()
    for i, (batch, rid) in enumerate(zip(batches, ids, strict=True)):
        if rid is None or row_errors[i]:
            continue
        if (batch, rid) in seen:
            row_errors[i].append(
                {"field": id_field, "value": rid, "reason": "duplicate_id", "message": f"{id_field} repeats in batch"}
            )
        seen.add((batch, rid))


def _write_canonical(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    connection_id: str,
    stream: str,
    version: int,
    arrow: pa.Table,
    columns: dict[str, list[Any]],
    rows: list[int],
) -> None:
    if not rows:
        return
    idx = pa.array(rows, type=pa.int64())
    data: dict[str, pa.Array] = {
        "connection_id": pa.array([connection_id] * len(rows), type=pa.string()),
        "stream": pa.array([stream] * len(rows), type=pa.string()),
        "batch_id": arrow.column("batch_id").take(idx),
        "row_index": arrow.column("row_index").take(idx),
        "source_record_id": arrow.column("source_record_id").take(idx),
        "mapping_version": pa.array([version] * len(rows), type=pa.int32()),
        "ingested_at": arrow.column("ingested_at").take(idx),
        "is_deleted": arrow.column("is_deleted").take(idx),
    }
    for f in canonical_fields(entity):
        values = columns[f]
        picked = [_plain(values[i]) for i in rows]
        data[f] = pa.array(picked, type=_ARROW_TYPES.get(column_type(entity, f), pa.string()))
    con.register("_autonomos_canonical", pa.table(data))
    names = ", ".join(f'"{c}"' for c in data)
    con.execute(f"INSERT INTO {canonical_table(entity)} ({names}) SELECT {names} FROM _autonomos_canonical")
    con.unregister("_autonomos_canonical")


def _plain(value: Any) -> Any:
    """Arrow-friendly form of a normalised value (enums to their value)."""
    if value is None or isinstance(value, str | int | Decimal | datetime | date):
        return getattr(value, "value", value)
    return str(value)


def _insert_quarantine(engine: Engine, tenant_id: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    tid = uuid.UUID(tenant_id)
    now = datetime.now(UTC)
    with tenant_session(tenant_id, engine) as s:
        for start in range(0, len(rows), 5_000):
            chunk = rows[start : start + 5_000]
            s.execute(
                insert(QuarantineRecord),
                [
                    {"id": uuid.uuid4(), "tenant_id": tid, "status": "open", "created_at": now, **_json_safe(r)}
                    for r in chunk
                ],
            )


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    row["reasons"] = json.loads(json.dumps(row["reasons"], default=str))
    return row


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
