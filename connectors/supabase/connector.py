"""Supabase connector: the tables of one PostgreSQL schema, read incrementally with a compound keyset cursor."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from connectors.base import DEFAULT_BATCH_SIZE, Batch, CheckResult, Connector
from connectors.exceptions import ConnectorError, TerminalConnectorError
from connectors.supabase.config import SupabaseConfig
from connectors.supabase.errors import classify
from connectors.supabase.queries import COLUMNS, PRIMARY_KEYS, ROW_LOCATOR, TABLES, keyset_query, quote
from connectors.supabase.types import Column, arrow_column
from connectors.values import FieldProfiler, json_safe
from schemas.source_schema import SourceSchema

__all__ = ["SupabaseConnector"]

logger = logging.getLogger(__name__)

_SAMPLE_ROWS = 100
_LOCATOR_COLUMN = "__row_locator"


def _engine_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class SupabaseConnector(Connector):
    """Reads the tables of a Supabase / PostgreSQL schema (see the package docstring for the cursor rules)."""

    system = "supabase"

    def __init__(self, config: SupabaseConfig) -> None:
        self.config = config
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            try:
                url = make_url(_engine_url(self.config.url))
            except ArgumentError as exc:
                raise TerminalConnectorError(f"not a PostgreSQL URL: {exc}") from exc
            self._engine = create_engine(
                url,
                pool_pre_ping=True,
                connect_args={
                    "connect_timeout": self.config.connect_timeout_seconds,
                    "application_name": "autonomos-connector",
                },
            )
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except DBAPIError as exc:
            raise classify(exc, "connecting") from exc

    def _catalog(self, conn: Connection) -> tuple[dict[str, list[Column]], dict[str, list[str]]]:
        schema = self.config.schema_
        tables: dict[str, list[Column]] = {row[0]: [] for row in conn.execute(TABLES, {"schema": schema})}
        for name, column, udt, data_type, nullable in conn.execute(COLUMNS, {"schema": schema}):
            if name in tables:
                tables[name].append(Column(column, udt, data_type, bool(nullable)))
        keys: dict[str, list[str]] = {}
        for name, column in conn.execute(PRIMARY_KEYS, {"schema": schema}):
            keys.setdefault(name, []).append(column)
        wanted = self.config.tables
        if wanted is not None:
            missing = [t for t in wanted if t not in tables]
            if missing:
                raise TerminalConnectorError(
                    f"table(s) {', '.join(missing)} do not exist in schema {schema!r} (or are not visible)"
                )
            tables = {t: tables[t] for t in wanted}
        return tables, keys

    def check(self) -> CheckResult:
        try:
            with self._connect() as conn:
                database, user = conn.execute(text("SELECT current_database(), current_user")).one()
                tables, _ = self._catalog(conn)
        except ConnectorError as exc:
            return CheckResult(False, exc.reason)
        except DBAPIError as exc:
            return CheckResult(False, classify(exc, "checking").reason)
        return CheckResult(
            True, f"connected to {database} as {user}; {len(tables)} tables in schema {self.config.schema_}"
        )

    def _qualified(self, table: str) -> str:
        return f"{quote(self.config.schema_)}.{quote(table)}"

    def _schema(self, conn: Connection, table: str, columns: list[Column], keys: list[str]) -> SourceSchema:
        profiler = FieldProfiler({c.name: c.field_type for c in columns})
        profiler.add_columns(c.name for c in columns)
        sample = conn.execute(text(f"SELECT * FROM {self._qualified(table)} LIMIT {_SAMPLE_ROWS}"))
        for row in sample.mappings():
            profiler.add({k: json_safe(v) for k, v in row.items()})
        nullable = {c.name: c.nullable for c in columns}
        fields = [f.model_copy(update={"nullable": nullable[f.name]}) for f in profiler.fields()]
        cursor_field = self.config.cursor_column if self.config.cursor_column in nullable else None
        return SourceSchema(stream=table, fields=fields, primary_key=keys, cursor_field=cursor_field)

    def discover(self) -> list[SourceSchema]:
        try:
            with self._connect() as conn:
                tables, keys = self._catalog(conn)
                return [self._schema(conn, t, cols, keys.get(t, [])) for t, cols in tables.items()]
        except DBAPIError as exc:
            raise classify(exc, "discovering tables") from exc

    def read(self, stream: str, cursor: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        try:
            with self._connect() as conn:
                yield from self._read(conn, stream, cursor, batch_size)
        except DBAPIError as exc:
            raise classify(exc, f"reading {stream}") from exc

    def _read(self, conn: Connection, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        tables, keys = self._catalog(conn)
        if stream not in tables:
            raise TerminalConnectorError(
                f"table {stream!r} does not exist in schema {self.config.schema_!r} (or is not visible)"
            )
        columns = tables[stream]
        names = {c.name for c in columns}
        cursor_column = self.config.cursor_column if self.config.cursor_column in names else None
        key_names = keys.get(stream) or []
        key_exprs = [quote(k) for k in key_names] or [ROW_LOCATOR]
        query, params = keyset_query(self._qualified(stream), cursor_column, key_exprs, _load(cursor))
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query, params)
        rows_read = 0
        for part in result.partitions(batch_size):
            mapped = [row._mapping for row in part]
            last = mapped[-1]
            position = _dump(
                json_safe(last[cursor_column]) if cursor_column else None,
                [json_safe(last[k]) for k in key_names] or [last[_LOCATOR_COLUMN]],
            )
            rows_read += len(mapped)
            yield Batch(stream, _table(columns, mapped), position, [])
        logger.info("table read", extra={"stream": stream, "rows": rows_read, "incremental": bool(cursor_column)})
        if cursor_column is None and rows_read:
            yield Batch(stream, _table(columns, []), None, [])


def _table(columns: list[Column], rows: Sequence[Any]) -> pa.Table:
    return pa.table([arrow_column(c, [row[c.name] for row in rows]) for c in columns], names=[c.name for c in columns])


def _load(cursor: str | None) -> tuple[object, list[object]] | None:
    if cursor is None:
        return None
    try:
        data = json.loads(cursor)
        return data["value"], list(data["key"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TerminalConnectorError(f"not a Supabase cursor: {cursor[:200]!r}") from exc


def _dump(value: object, key: list[object]) -> str:
    return json.dumps({"value": value, "key": key}, separators=(",", ":"))
