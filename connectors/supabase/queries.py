"""SQL for the Supabase connector: catalog look-ups and the keyset query behind compound cursors."""

from __future__ import annotations

from sqlalchemy import TextClause, text

__all__ = ["COLUMNS", "PRIMARY_KEYS", "TABLES", "keyset_query", "quote"]

TABLES = text(
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = :schema AND table_type = 'BASE TABLE' ORDER BY table_name"
)
COLUMNS = text(
    "SELECT table_name, column_name, udt_name, data_type, is_nullable = 'YES' AS nullable "
    "FROM information_schema.columns WHERE table_schema = :schema ORDER BY table_name, ordinal_position"
)
PRIMARY_KEYS = text(
    "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
    "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
    "AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name "
    "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = :schema "
    "ORDER BY tc.table_name, kcu.ordinal_position"
)
ROW_LOCATOR = "ctid"


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def _row(names: list[str]) -> str:
    return "(" + ", ".join(names) + ")"


def keyset_query(
    table: str, cursor_column: str | None, keys: list[str], after: tuple[object, list[object]] | None
) -> tuple[TextClause, dict[str, object]]:
    """SELECT the rows after a (cursor value, key) position, ordered by cursor column (NULLs first) then key.

    `keys` are quoted key expressions (primary key columns, or ctid for tables without one).
    """
    order = ([f"{quote(cursor_column)} ASC NULLS FIRST"] if cursor_column else []) + keys
    params: dict[str, object] = {}
    where = ""
    if after is not None:
        value, key = after
        params.update({f"k{i}": v for i, v in enumerate(key)})
        key_after = f"{_row(keys)} > {_row([_param(i, k) for i, k in enumerate(keys)])}"
        if cursor_column is None:
            where = f"WHERE {key_after}"
        elif value is None:
            column = quote(cursor_column)
            where = f"WHERE ({column} IS NULL AND {key_after}) OR {column} IS NOT NULL"
        else:
            column = quote(cursor_column)
            params["v"] = value
            where = f"WHERE {column} > :v OR ({column} = :v AND {key_after})"
    locator = f", {ROW_LOCATOR}::text AS {quote('__row_locator')}" if ROW_LOCATOR in keys else ""
    sql = f"SELECT *{locator} FROM {table} {where} ORDER BY {', '.join(order)}"
    return text(sql), params


def _param(index: int, key: str) -> str:
    return f"CAST(:k{index} AS tid)" if key == ROW_LOCATOR else f":k{index}"
