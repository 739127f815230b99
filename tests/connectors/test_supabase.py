"""Supabase connector against the machine's real PostgreSQL, in a throwaway database per test module."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import psycopg2
import pyarrow as pa
import pytest

from connectors import Batch, TerminalConnectorError, TransientConnectorError, build_connector
from connectors.base import Connector
from schemas.source_schema import FieldType

pytestmark = pytest.mark.postgres

PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")

SETUP = """
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    name text NOT NULL,
    revenue numeric(14, 2),
    employees integer,
    profile jsonb,
    tags text[],
    active boolean,
    updated_at timestamptz
);
CREATE TABLE notes (body text);
CREATE SCHEMA crm;
CREATE TABLE crm.deals (deal_id uuid PRIMARY KEY, amount double precision, updated_at timestamptz NOT NULL);
"""
T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)


def _admin(dbname: str = "postgres") -> psycopg2.extensions.connection:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    name = f"autonomos_test_conn_{uuid.uuid4().hex}"
    with _admin().cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    with _admin(name) as conn, conn.cursor() as cur:
        cur.execute(SETUP)
    yield name
    with _admin().cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(database: str) -> Iterator[psycopg2.extensions.cursor]:
    conn = _admin(database)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE accounts, notes, crm.deals")
        yield cur
    conn.close()


def _url(database: str, user: str = PG_USER, port: int = PG_PORT) -> str:
    return f"postgresql://{user}@{PG_HOST}:{port}/{database}"


@pytest.fixture
def connector(database: str) -> Iterator[Connector]:
    connector = build_connector("supabase", {"url": _url(database)})
    yield connector
    connector.close()


def _insert(cur: psycopg2.extensions.cursor, *rows: tuple[int, str, datetime | None]) -> None:
    for account_id, name, updated_at in rows:
        cur.execute(
            "INSERT INTO accounts (id, name, revenue, employees, profile, tags, active, updated_at) "
            "VALUES (%s, %s, 1234.50, 10, %s, ARRAY['a', 'b'], true, %s)",
            (account_id, name, json.dumps({"tier": "gold"}), updated_at),
        )


def _ids(batches: list[Batch]) -> list[int]:
    return [row["id"] for b in batches for row in b.table.to_pylist()]


def test_discover_reports_types_keys_and_cursor(connector: Connector, db: psycopg2.extensions.cursor) -> None:
    _insert(db, (1, "Acme", T0))
    schemas = {s.stream: s for s in connector.discover()}
    assert set(schemas) == {"accounts", "notes"}
    accounts = schemas["accounts"]
    assert accounts.primary_key == ["id"] and accounts.cursor_field == "updated_at"
    assert {f.name: f.type for f in accounts.fields} == {
        "id": FieldType.INTEGER,
        "name": FieldType.STRING,
        "revenue": FieldType.NUMBER,
        "employees": FieldType.INTEGER,
        "profile": FieldType.OBJECT,
        "tags": FieldType.ARRAY,
        "active": FieldType.BOOLEAN,
        "updated_at": FieldType.DATETIME,
    }
    name = accounts.field("name")
    assert name is not None and not name.nullable and name.sample_values == ["Acme"]
    revenue = accounts.field("revenue")
    assert revenue is not None and revenue.nullable and revenue.sample_values == ["1234.50"]
    assert schemas["notes"].primary_key == [] and schemas["notes"].cursor_field is None


def test_read_converts_values_exactly(connector: Connector, db: psycopg2.extensions.cursor) -> None:
    _insert(db, (1, "Acme", T0))
    (batch,) = list(connector.read("accounts"))
    assert batch.table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    (row,) = batch.table.to_pylist()
    assert row["revenue"] == "1234.50" and Decimal(row["revenue"]) == Decimal("1234.5")
    assert json.loads(row["profile"]) == {"tier": "gold"} and json.loads(row["tags"]) == ["a", "b"]
    assert row["updated_at"] == T0 and row["active"] is True


def test_rows_sharing_a_cursor_value_survive_batch_boundaries(
    connector: Connector, db: psycopg2.extensions.cursor
) -> None:
    _insert(db, *[(i, f"acc {i}", T0) for i in range(1, 8)], (8, "null cursor", None))
    first = list(connector.read("accounts", batch_size=3))
    assert _ids(first) == [8, 1, 2, 3, 4, 5, 6, 7]
    assert [b.table.num_rows for b in first] == [3, 3, 2]
    resumed = list(connector.read("accounts", first[0].cursor, batch_size=3))
    assert _ids(resumed) == [3, 4, 5, 6, 7]
    assert list(connector.read("accounts", first[-1].cursor)) == []
    _insert(db, (9, "late but same time", T0), (10, "newer", T1))
    db.execute("UPDATE accounts SET name = 'renamed', updated_at = %s WHERE id = 8", (T1,))
    assert _ids(list(connector.read("accounts", first[-1].cursor))) == [9, 8, 10]


def test_table_without_cursor_column_is_read_in_full_each_time(
    connector: Connector, db: psycopg2.extensions.cursor
) -> None:
    db.execute("INSERT INTO notes VALUES ('a'), ('b'), ('c')")
    batches = list(connector.read("notes", batch_size=2))
    assert [b.table.num_rows for b in batches] == [2, 1, 0]
    assert batches[-1].cursor is None
    resumed = list(connector.read("notes", batches[0].cursor, batch_size=2))
    assert [r["body"] for b in resumed for r in b.table.to_pylist()] == ["c"]


def test_other_schema_and_uuid_keys(database: str, db: psycopg2.extensions.cursor) -> None:
    ids = sorted(str(uuid.uuid4()) for _ in range(3))
    for deal_id in ids:
        db.execute("INSERT INTO crm.deals VALUES (%s, 10.5, %s)", (deal_id, T0))
    connector = build_connector("supabase", {"url": _url(database), "schema": "crm"})
    try:
        first, *rest = list(connector.read("deals", batch_size=1))
        again = list(connector.read("deals", first.cursor))
        assert [r["deal_id"] for b in again for r in b.table.to_pylist()] == ids[1:]
        assert len(rest) == 2
    finally:
        connector.close()


def test_missing_table_is_terminal(connector: Connector, database: str) -> None:
    with pytest.raises(TerminalConnectorError, match="'opportunities' does not exist in schema 'public'"):
        list(connector.read("opportunities"))
    configured = build_connector("supabase", {"url": _url(database), "tables": ["accounts", "missing"]})
    try:
        result = configured.check()
        assert not result.ok and "missing" in result.reason
        with pytest.raises(TerminalConnectorError):
            configured.discover()
    finally:
        configured.close()


def test_bad_role_is_terminal(database: str) -> None:
    connector = build_connector("supabase", {"url": _url(database, user="no_such_role_autonomos")})
    result = connector.check()
    assert not result.ok and "no_such_role_autonomos" in result.reason
    with pytest.raises(TerminalConnectorError, match="does not exist"):
        connector.discover()
    connector.close()


def test_connection_refused_is_transient(database: str) -> None:
    connector = build_connector("supabase", {"url": _url(database, port=1), "connect_timeout_seconds": 2})
    with pytest.raises(TransientConnectorError, match="refused"):
        list(connector.read("accounts"))
    assert not connector.check().ok
    connector.close()


def test_check_reports_the_database(connector: Connector, database: str) -> None:
    result = connector.check()
    assert result.ok and database in result.reason and "2 tables" in result.reason
