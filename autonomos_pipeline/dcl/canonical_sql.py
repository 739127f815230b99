"""Apply one mapping version to raw batches inside DuckDB: extract, normalise, validate, all column-wise in SQL.

Values a normaliser's SQL fast path decides never leave DuckDB; every other distinct value goes once through the
Python normaliser and joins back as a lookup table. Validation (per-field errors, required fields, negative head
counts, ids repeated within a batch) is SQL too, so the cost per row stays in DuckDB's vectorised engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from autonomos_pipeline.dcl.fast_sql import FastPath, fast_path, render
from schemas import canonical_fields, required_fields
from schemas.canonical import ID_FIELDS
from schemas.normalize import DEFAULT_NORMALISER, NORMALISERS, NULL_LIKE, NormalisationError

#: DuckDB column types of the canonical tables, by default normaliser.
SQL_TYPES = {
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
#: The country field whose normalised value is the region hint of an entity's phone numbers.
PHONE_COUNTRY = {"account": "billing_country", "contact": "mailing_country"}
#: Column of _canon_checked: NULL for a valid row, else the JSON array of its errors.
ERRORS = "__errors"


def column_type(entity: str, name: str) -> str:
    """The DuckDB type of a canonical column."""
    return SQL_TYPES.get(DEFAULT_NORMALISER[(entity, name)], "VARCHAR")


@dataclass(frozen=True)
class FieldPlan:
    """How one mapped canonical field is computed: its raw column, normaliser and (optional) SQL fast path."""

    name: str
    column: str
    normaliser: str
    source_field: str
    paths: tuple[str, ...]
    fast: FastPath | None

    @property
    def lookup(self) -> str:
        """Name of the table holding the Python normaliser's results for the values the fast path leaves."""
        return f"_lk_{self.column}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _str_sql(expr: str) -> str:
    """normalize_str in SQL: trimmed, inner whitespace runs collapsed to one space, null-like text to NULL."""
    nulls = ", ".join(_literal(v) for v in sorted(NULL_LIKE))
    longest = max(len(v) for v in NULL_LIKE)
    trimmed = f"trim({expr})"
    return (
        f"CASE WHEN length({trimmed}) <= {longest} AND lower({trimmed}) IN ({nulls}) THEN NULL "
        f"WHEN strpos({trimmed}, '  ') > 0 OR regexp_matches({trimmed}, '[\\t\\n\\f\\r]') "
        f"THEN regexp_replace({trimmed}, '\\s+', ' ', 'g') ELSE {trimmed} END"
    )


def plan_fields(entity: str, mapping: dict[str, dict[str, Any]]) -> list[FieldPlan]:
    """The mapped fields in evaluation order (country fields first: phone numbers use them as region hints)."""
    plans = []
    for i, name in enumerate(canonical_fields(entity)):
        m = mapping.get(name)
        if m is None:
            continue
        normaliser = m.get("normaliser") or DEFAULT_NORMALISER[(entity, name)]
        paths = (m["source_field"], *m.get("previous_source_fields", []))
        fast = fast_path(normaliser) if normaliser != "str" else None
        plans.append(FieldPlan(name, f"r_{i}", normaliser, m["source_field"], paths, fast))
    hint = PHONE_COUNTRY.get(entity)
    return sorted(plans, key=lambda p: p.name != hint)


def stage_input(con: duckdb.DuckDBPyConnection, plans: list[FieldPlan], batch_ids: list[str]) -> None:
    """_canon_in: lineage, each mapped field's raw text and, for fast paths, `handled` and the value."""
    all_paths = sorted({path for p in plans for path in p.paths})
    position = {path: k + 1 for k, path in enumerate(all_paths)}
    json_paths = "[" + ", ".join(_literal("$." + json.dumps(path)) for path in all_paths) + "]"
    raws = [f'coalesce({", ".join(f"__x[{position[path]}]" for path in p.paths)}) AS "{p.column}"' for p in plans]
    source = f"""(SELECT batch_id, row_index, source_record_id, ingested_at, is_deleted
                  {", " + ", ".join(raws) if raws else ""}
                  FROM (SELECT batch_id, row_index, source_record_id, ingested_at, is_deleted,
                               {f"json_extract_string(payload, {json_paths})" if all_paths else "NULL"} AS __x
                        FROM raw_records WHERE {batch_filter(batch_ids)}))"""
    for p in plans:
        for helper, template in p.fast.helpers if p.fast else ():
            source = f'(SELECT *, {render(template, p.column)} AS "{p.column}_{helper}" FROM {source})'
    fast = [p for p in plans if p.fast]
    handled = [f'coalesce({render(p.fast.handled, p.column)}, FALSE) AS "h_{p.column}"' for p in fast if p.fast]
    if handled:
        source = f"(SELECT *, {', '.join(handled)} FROM {source})"
    values = [
        f'CASE WHEN "h_{p.column}" THEN {render(p.fast.value, p.column)} END AS "f_{p.column}"' for p in fast if p.fast
    ]
    helpers = ", ".join(f'"{p.column}_{helper}"' for p in fast if p.fast for helper, _ in p.fast.helpers)
    kept = f"* EXCLUDE ({helpers})" if helpers else "*"  # the helpers only serve the fast paths computed here
    select = f"SELECT {kept}{', ' + ', '.join(values) if values else ''} FROM {source}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _canon_in AS {select}", batch_ids if len(batch_ids) == 1 else [batch_ids]
    )


def batch_filter(batch_ids: list[str], column: str = "batch_id") -> str:
    """One batch by equality (DuckDB skips the other batches' row groups by their min/max), several by list."""
    return f"{column} = ?" if len(batch_ids) == 1 else f"{column} IN (SELECT unnest(?::VARCHAR[]))"


def _value_sql(p: FieldPlan, empty: frozenset[str] = frozenset()) -> str:
    """The SQL of a mapped field's normalised value over _canon_in joined with its lookup table (unless empty)."""
    if p.normaliser == "str":
        return _str_sql(f'"{p.column}"')
    looked_up = "NULL" if p.lookup in empty else f"{p.lookup}.value"
    if p.fast is None:
        return looked_up
    return f'CASE WHEN "h_{p.column}" THEN "f_{p.column}" ELSE {looked_up} END'


def _error_sql(p: FieldPlan, empty: frozenset[str] = frozenset()) -> str:
    """The SQL of a mapped field's error (a JSON object as text) or NULL."""
    if p.normaliser == "str":
        return "NULL::VARCHAR"
    looked_up = "NULL::VARCHAR" if p.lookup in empty else f"{p.lookup}.error"
    if p.fast is None:
        return looked_up
    if p.fast.reason is None:
        return f'CASE WHEN NOT "h_{p.column}" THEN {looked_up} END'
    rejected = (
        f"json_object('field', {_literal(p.name)}, 'value', \"{p.column}\", 'reason', {_literal(p.fast.reason)}, "
        f"'message', {_literal(p.fast.message or p.fast.reason)}, 'source_field', {_literal(p.source_field)})::VARCHAR"
    )
    return f'CASE WHEN NOT "h_{p.column}" THEN {looked_up} WHEN "f_{p.column}" IS NULL THEN {rejected} END'


def _join_sql(p: FieldPlan, hint: FieldPlan | None, empty: frozenset[str] = frozenset()) -> str:
    if p.normaliser == "str" or p.lookup in empty:
        return ""
    on = f'{p.lookup}.key = "{p.column}"'
    if p.normaliser == "phone":
        hint_sql = f"({_value_sql(hint, empty)})::VARCHAR" if hint else "NULL::VARCHAR"
        on += f" AND {p.lookup}.hint IS NOT DISTINCT FROM {hint_sql}"
    return f"LEFT JOIN {p.lookup} ON {on}"


def build_lookups(con: duckdb.DuckDBPyConnection, entity: str, plans: list[FieldPlan]) -> dict[str, pa.Table]:
    """Run the Python normaliser once per distinct value no fast path decided; register the results."""
    hint_name = PHONE_COUNTRY.get(entity)
    hint = next((p for p in plans if p.name == hint_name), None)
    tables: dict[str, pa.Table] = {}
    for p in plans:
        if p.normaliser == "str":
            continue
        pending = f'"{p.column}" IS NOT NULL' + (f' AND NOT "h_{p.column}"' if p.fast else "")
        if p.normaliser == "phone":
            joins = _join_sql(hint, None) if hint else ""
            hint_sql = f"({_value_sql(hint)})::VARCHAR" if hint else "NULL::VARCHAR"
            keys = con.execute(
                f'SELECT DISTINCT "{p.column}", {hint_sql} FROM _canon_in {joins} WHERE {pending}'
            ).fetchall()
        else:
            keys = [(k, None) for (k,) in con.execute(f'SELECT DISTINCT "{p.column}" FROM _canon_in WHERE {pending}')
                    .fetchall()]  # fmt: skip
        tables[p.lookup] = _lookup_table(p, keys)
        con.register(p.lookup, tables[p.lookup])
    return tables


def _lookup_table(p: FieldPlan, keys: list[tuple[str, str | None]]) -> pa.Table:
    fn = NORMALISERS[p.normaliser]
    values: list[Any] = []
    errors: list[str | None] = []
    for key, hint in keys:
        try:
            converted = fn(key, field=p.name, country=hint) if p.normaliser == "phone" else fn(key, field=p.name)
            values.append(_plain(converted))
            errors.append(None)
        except NormalisationError as exc:
            values.append(None)
            errors.append(json.dumps({"field": p.name, **exc.as_dict(), "source_field": p.source_field}))
    kind = _ARROW_TYPES.get(SQL_TYPES.get(p.normaliser, "VARCHAR"), pa.string())
    return pa.table(
        {
            "key": pa.array([k for k, _ in keys], pa.string()),
            "hint": pa.array([h for _, h in keys], pa.string()),
            "value": pa.array(values, kind),
            "error": pa.array(errors, pa.string()),
        }
    )


def _plain(value: Any) -> Any:
    """Arrow-friendly form of a normalised value (enums to their value)."""
    if value is None or isinstance(value, str | int | Decimal | datetime | date):
        return getattr(value, "value", value)
    return str(value)


def stage_output(
    con: duckdb.DuckDBPyConnection, entity: str, plans: list[FieldPlan], lookups: dict[str, pa.Table]
) -> None:
    """_canon_checked: every canonical field's value and, per rejected row, its errors as a JSON array (else NULL)."""
    empty = frozenset(name for name, table in lookups.items() if table.num_rows == 0)  # no join needed
    by_name = {p.name: p for p in plans}
    hint = by_name.get(PHONE_COUNTRY.get(entity, ""))
    id_field = ID_FIELDS[entity]
    values, errors = [], []
    joins = [_join_sql(p, hint, empty) for p in plans]  # plan order: the phone hint's lookup is joined first
    for name in canonical_fields(entity):
        p = by_name.get(name)
        kind = column_type(entity, name)
        if p is None:
            values.append(f'{"source_record_id" if name == id_field else "NULL"}::{kind} AS "{name}"')
            continue
        value = _value_sql(p, empty)
        if name == id_field:  # deletions carry only the record id: take it from the lineage column
            value = f"CASE WHEN is_deleted THEN coalesce(({value})::VARCHAR, source_record_id) ELSE {value} END"
        values.append(f'({value})::{kind} AS "{name}"')
        if p.normaliser != "str":
            errors.append(f'{_error_sql(p, empty)} AS "e_{p.column}"')
    checks = [f'"e_{p.column}"' for p in plans if p.normaliser != "str"]
    for req in required_fields(entity):
        p = by_name.get(req)
        missing = json.dumps(
            {"field": req, "value": None, "reason": "missing_required", "message": f"{req} is required"}
        )
        failed = f' AND "e_{p.column}" IS NULL' if p is not None and p.normaliser != "str" else ""
        checks.append(f'CASE WHEN "{req}" IS NULL{failed} THEN {_literal(missing)} END')
    if entity == "account":
        checks.append(
            "CASE WHEN coalesce(employee_count, 0) < 0 THEN json_object('field', 'employee_count', 'value', "
            "employee_count, 'reason', 'negative', 'message', 'employee_count cannot be negative')::VARCHAR END"
        )
    duplicate = (
        f"json_object('field', {_literal(id_field)}, 'value', \"{id_field}\", 'reason', 'duplicate_id', "
        f"'message', {_literal(f'{id_field} repeats in batch')})::VARCHAR"
    )
    error_columns = ", ".join(f'"e_{p.column}"' for p in plans if p.normaliser != "str")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _canon_checked AS
            SELECT * EXCLUDE (__pre{", " + error_columns if error_columns else ""}),
                   CASE WHEN __pre IS NOT NULL THEN '[' || __pre || ']' END AS {ERRORS}
            FROM (SELECT *, CASE WHEN NOT is_deleted THEN nullif(concat_ws(',', {", ".join(checks) or "NULL"}), '')
                            END AS __pre
                  FROM (SELECT batch_id, row_index, source_record_id, ingested_at, is_deleted, {", ".join(values)}
                               {", " + ", ".join(errors) if errors else ""}
                        FROM _canon_in {" ".join(joins)}))"""
    )
    # An id repeated among a batch's rows that passed the checks (deletions included): every row after its first is
    # a duplicate. A grouping finds the few repeated ids; a window over every row would sort the whole batch.
    con.execute(
        f"""UPDATE _canon_checked SET {ERRORS} = '[' || {duplicate} || ']'
            FROM (SELECT batch_id AS __batch, "{id_field}" AS __id, min(row_index) AS __first FROM _canon_checked
                  WHERE {ERRORS} IS NULL AND "{id_field}" IS NOT NULL GROUP BY ALL HAVING count(*) > 1) AS __repeats
            WHERE batch_id = __batch AND "{id_field}" = __id AND row_index > __first AND {ERRORS} IS NULL"""
    )


def drop_stages(con: duckdb.DuckDBPyConnection, lookups: dict[str, pa.Table]) -> None:
    """Drop the temporary tables and lookups of one application."""
    for name in lookups:
        con.unregister(name)
    for table in ("_canon_in", "_canon_checked"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
