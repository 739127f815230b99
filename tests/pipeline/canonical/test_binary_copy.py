"""Bulk loads COPY DuckDB's rows into PostgreSQL in the binary format: every serving column type arrives exactly, and
a failure on either side aborts the COPY, raises, and leaves no thread behind."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from queue import Queue
from typing import Any

import duckdb
import psycopg2
import pytest
from psycopg2 import errors as pg_errors
from sqlalchemy import Boolean as SABoolean
from sqlalchemy import Date, DateTime, Integer, Numeric, String, Table, Uuid

from autonomos_pipeline.dcl import binary_copy
from autonomos_pipeline.dcl.binary_copy import BATCH_ROWS, binary_select, copy_binary, duckdb_type
from autonomos_pipeline.dcl.store import MATERIALIZED_MODELS
from tests.conftest import PG_HOST, PG_PORT, PG_SUPERUSER
from tests.utils.stores import Store

pytestmark = pytest.mark.postgres

TABLES: list[Table] = [model.__table__ for model in MATERIALIZED_MODELS.values()]  # type: ignore[attr-defined]


@pytest.fixture
def pg(pg_store: Store) -> Iterator[Any]:
    """A superuser connection to the migrated store; whatever a test leaves is rolled back."""
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname=pg_store.admin_url.rsplit("/", 1)[1])
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _copy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autonomos-binary-copy"]


def _sample(table: Table, column: str) -> tuple[str, Any]:
    """A DuckDB literal of an awkward value of the column's type, and the value PostgreSQL must hold."""
    kind = table.c[column].type
    if isinstance(kind, Uuid):  # the row's id as its 16 bytes (bulk loads), the other uuids as text (upserts)
        value = uuid.UUID("0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0")
        return (f"unhex('{value.hex}')" if column == "id" else f"'{value}'"), str(value)  # psycopg2 reads text
    if isinstance(kind, Integer):
        big = duckdb_type(table, column) == "BIGINT"
        return ("-9007199254740993", -9007199254740993) if big else ("-2147483648", -2147483648)
    if isinstance(kind, Numeric):
        digits = "9" * ((kind.precision or 38) - (kind.scale or 0))
        text = f"-{digits}.{'0' * ((kind.scale or 0) - 1)}5" if kind.scale else f"-{digits}"
        return f"'{text}'", Decimal(text)
    if isinstance(kind, SABoolean):
        return "TRUE", True
    if isinstance(kind, DateTime):
        moment = datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC)
        return "TIMESTAMPTZ '1999-12-31 23:59:59.123456+00'", moment
    if isinstance(kind, Date):
        return "DATE '1900-02-28'", date(1900, 2, 28)
    assert isinstance(kind, String), f"{column}: {kind!r}"
    text = 'a "quoted", \\N comma\nnew line, tab\t, Zürich 東京 🚀'[: kind.length or 1_000]
    return "'" + text.replace("'", "''") + "'", text


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_serving_column_arrives_exactly(pg: Any, table: Table) -> None:
    columns = [c.name for c in table.columns]
    samples = {c: _sample(table, c) for c in columns}
    rows = " UNION ALL ".join(
        [
            "SELECT " + ", ".join(f'{sql} AS "{c}"' for c, (sql, _) in samples.items()),
            "SELECT " + ", ".join(f'NULL AS "{c}"' for c in columns),
        ]
    )
    cur = pg.cursor()
    cur.execute(f"CREATE TABLE _binary_target AS SELECT * FROM {table.name} WITH NO DATA")
    with duckdb.connect() as con:
        query, selected = binary_select(con, table, rows)
        assert selected == columns
        copy_binary(con, query, cur, "_binary_target", columns)
    cur.execute(f"SELECT {', '.join(columns)} FROM _binary_target ORDER BY {columns[0]} NULLS LAST")
    full, empty = cur.fetchall()
    assert dict(zip(columns, full, strict=True)) == {c: value for c, (_, value) in samples.items()}
    assert set(empty) == {None}


def test_a_failing_query_aborts_the_copy_and_raises_its_error(pg: Any) -> None:
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (n bigint)")
    query = f"SELECT CASE WHEN i < {3 * BATCH_ROWS} THEN i ELSE error('boom at ' || i) END AS n FROM range(100000) t(i)"
    with duckdb.connect() as con:
        # DuckDB raises it through the Arrow reader, as an OSError carrying its message
        with pytest.raises((duckdb.Error, OSError), match="boom at"):
            copy_binary(con, query, cur, "_binary_target", ["n"])
        assert con.execute("SELECT 42").fetchall() == [(42,)], "the connection takes its next query"
    assert not _copy_threads()


def test_a_value_postgresql_rejects_fails_the_copy(pg: Any) -> None:
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (code varchar(3))")
    query = "SELECT CASE WHEN i = 70000 THEN 'toolong' ELSE 'ok' END AS code FROM range(200000) t(i)"
    with duckdb.connect() as con, pytest.raises(pg_errors.StringDataRightTruncation):
        copy_binary(con, query, cur, "_binary_target", ["code"])
    assert not _copy_threads(), "the encoding thread ends with the COPY"


def test_a_query_with_other_columns_is_refused(pg: Any) -> None:
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (a bigint, b bigint)")
    with duckdb.connect() as con:
        with pytest.raises(ValueError, match=r"\['b', 'a'\], not \['a', 'b'\]"):
            copy_binary(con, "SELECT 1::BIGINT AS b, 2::BIGINT AS a", cur, "_binary_target", ["a", "b"])
        assert con.execute("SELECT 42").fetchall() == [(42,)], "the refused query's result was closed"
    assert not _copy_threads()


@pytest.mark.parametrize("value", ["'infinity'::TIMESTAMPTZ", "'-infinity'::TIMESTAMPTZ"])
def test_an_infinite_timestamp_is_refused_not_altered(pg: Any, value: str) -> None:
    table = TABLES[0]
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (created_at timestamptz)")
    with duckdb.connect() as con, pytest.raises((duckdb.Error, OSError), match="an infinite TIMESTAMPTZ"):
        query, _ = binary_select(con, table, f"SELECT {value} AS created_at")
        copy_binary(con, query, cur, "_binary_target", ["created_at"])


class _InterruptedQueue(Queue):  # type: ignore[type-arg]
    """A queue whose third get is interrupted, as Ctrl-C or a run's termination interrupts the COPY's reads."""

    gets = 0

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        _InterruptedQueue.gets += 1
        if _InterruptedQueue.gets == 3:
            raise KeyboardInterrupt
        return super().get(block, timeout)


def test_an_interrupt_stays_an_interrupt(pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binary_copy, "Queue", _InterruptedQueue)
    monkeypatch.setattr(_InterruptedQueue, "gets", 0)
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (n bigint)")
    with duckdb.connect() as con, pytest.raises(KeyboardInterrupt):
        copy_binary(con, f"SELECT i AS n FROM range({20 * BATCH_ROWS}) t(i)", cur, "_binary_target", ["n"])
    assert not _copy_threads()


def test_every_row_of_a_large_query_arrives(pg: Any) -> None:
    cur = pg.cursor()
    cur.execute("CREATE TABLE _binary_target (n bigint, label text)")
    rows = 5 * BATCH_ROWS + 7  # the encoder hands out bytes for some batches only: none may end the COPY early
    with duckdb.connect() as con:
        query = f"SELECT i AS n, 'row ' || i AS label FROM range({rows}) t(i)"
        copy_binary(con, query, cur, "_binary_target", ["n", "label"])
    cur.execute(
        "SELECT count(*), count(DISTINCT n), sum(n), count(*) FILTER (WHERE label = 'row ' || n) FROM _binary_target"
    )
    assert cur.fetchone() == (rows, rows, rows * (rows - 1) // 2, rows)
