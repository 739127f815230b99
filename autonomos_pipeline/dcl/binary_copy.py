"""COPY a DuckDB query's rows into PostgreSQL in the binary format: pgpq encodes DuckDB's Arrow batches.

PostgreSQL parses no text then (timestamps, numerics and uuids were most of a text COPY's parse): a 1M-row accounts
load's COPY took 1.2 s instead of 2.3 s. The query's columns must have the binary form of their target columns;
`binary_select` casts them from the table's model.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from queue import Full, Queue
from typing import Any

import duckdb
import pyarrow as pa
from pgpq import ArrowToPostgresBinaryEncoder
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, Numeric, SmallInteger, String, Table, Uuid

#: Rows per Arrow batch: about 4 MB of binary COPY data for an account row.
BATCH_ROWS = 16_384
#: Encoded batches waiting for PostgreSQL: DuckDB and pgpq stay this far ahead of the COPY at most.
QUEUE_BATCHES = 4


def duckdb_type(table: Table, column: str) -> str:
    """The DuckDB type whose Arrow form pgpq encodes as the column's PostgreSQL binary form."""
    kind = table.c[column].type
    if isinstance(kind, Uuid):
        return "BLOB"  # 16 bytes, which uuid's binary input reads as they are
    if isinstance(kind, BigInteger):
        return "BIGINT"
    if isinstance(kind, SmallInteger):
        return "SMALLINT"
    if isinstance(kind, Integer):
        return "INTEGER"
    if isinstance(kind, Numeric) and not kind.asdecimal:
        raise TypeError(f"{table.name}.{column}: a float column has no binary COPY cast here")
    if isinstance(kind, Numeric):
        return f"DECIMAL({kind.precision or 38}, {kind.scale or 0})"
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    if isinstance(kind, DateTime):
        if not kind.timezone:
            raise TypeError(f"{table.name}.{column}: timestamps without time zone are not copied in binary")
        return "TIMESTAMPTZ"
    if isinstance(kind, Date):
        return "DATE"
    if isinstance(kind, String):
        return "VARCHAR"
    raise TypeError(f"{table.name}.{column}: no binary COPY cast for {kind!r}")


def binary_select(
    con: duckdb.DuckDBPyConnection, table: Table, source: str, exclude: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """SELECT the columns of source but those in exclude, each cast to the DuckDB type of its binary form: uuid
    columns become their 16 bytes (a BLOB stays as it is, uuid text is unhexed), the others are cast to their model's
    type. Returns the query and its columns."""
    kinds = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {source}").fetchall() if name not in exclude}
    casts = []
    for name, source_kind in kinds.items():
        kind = duckdb_type(table, name)
        if kind in ("TIMESTAMPTZ", "DATE"):  # pgpq cannot write infinity: refuse it rather than store a wrong value
            value = f'CAST("{name}" AS {kind})'
            refused = f"error('{table.name}.{name}: an infinite {kind} cannot be copied')"
            casts.append(f'CASE WHEN isinf({value}) THEN {refused} ELSE {value} END AS "{name}"')
        elif kind != "BLOB":
            casts.append(f'CAST("{name}" AS {kind}) AS "{name}"')
        elif source_kind == "BLOB":
            casts.append(f'"{name}"')
        elif source_kind in ("VARCHAR", "UUID"):
            casts.append(f"unhex(replace(CAST(\"{name}\" AS VARCHAR), '-', '')) AS \"{name}\"")
        else:
            raise TypeError(f"{table.name}.{name}: a uuid cannot come from {source_kind}")
    return f"SELECT {', '.join(casts)} FROM ({source})", list(kinds)


def encode(rows: pa.Table) -> bytes:
    """The rows in PostgreSQL's binary COPY format, header and trailer included."""
    encoder = ArrowToPostgresBinaryEncoder(rows.schema)
    parts = [encoder.write_header(), *(encoder.write_batch(batch) for batch in rows.to_batches()), encoder.finish()]
    return b"".join(parts)


class _Feed:
    """The file psycopg2's copy_expert reads: encoded bytes from the queue; an empty read ends the COPY, so only the
    end of the rows gives one.

    psycopg2 turns whatever read raises into its own QueryCanceled, so what was raised is kept here for copy_binary
    to raise instead: an interrupt (Ctrl-C, a run's termination) must not look like a failed COPY to fall back from.
    """

    def __init__(self, chunks: Queue[bytes | BaseException | None]) -> None:
        self._chunks = chunks
        self.raised: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            item = self._chunks.get()
            if isinstance(item, BaseException):
                raise item
        except BaseException as exc:
            self.raised = exc
            raise
        return item or b""


def copy_binary(
    con: duckdb.DuckDBPyConnection, query: str, cur: Any, table: str, columns: Sequence[str], *, freeze: bool = False
) -> None:
    """COPY the query's rows (its columns named and ordered as columns) into table: a thread runs the query and
    encodes its batches while PostgreSQL takes the ones before, so DuckDB and PostgreSQL work at the same time.
    freeze writes the rows frozen (the table must be new in the transaction).

    A failure on either side aborts the COPY and is raised here (the query's or the encoder's own error, not
    psycopg2's report of the aborted COPY); the rows already sent stay in the caller's transaction, which it rolls
    back. PostgreSQL reports a value it refuses only at the end of the COPY, so the query runs to its end first.
    """
    chunks: Queue[bytes | BaseException | None] = Queue(QUEUE_BATCHES)
    stop = threading.Event()
    produced = [0]

    def put(item: bytes | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        reader: pa.RecordBatchReader | None = None
        try:
            reader = con.sql(query).to_arrow_reader(BATCH_ROWS)
            if reader.schema.names != list(columns):
                raise ValueError(f"the query yields {reader.schema.names}, not {list(columns)}")
            encoder = ArrowToPostgresBinaryEncoder(reader.schema)
            if not put(encoder.write_header()):
                return
            for batch in reader:
                produced[0] += batch.num_rows
                encoded = encoder.write_batch(batch)  # empty while the encoder buffers
                if encoded and not put(encoded):
                    return
            if put(encoder.finish()):
                put(None)
        except BaseException as exc:  # the feed's read raises it into the COPY, which fails; re-raised below
            put(exc)
        finally:
            if reader is not None:
                reader.close()  # an open result would keep the DuckDB connection from its next query

    feed = _Feed(chunks)
    writer = threading.Thread(target=produce, name="autonomos-binary-copy")
    writer.start()
    names = ", ".join(f'"{c}"' for c in columns)
    try:
        options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
        cur.copy_expert(f'COPY public."{table}" ({names}) FROM STDIN WITH ({options})', feed)
    except Exception:
        if feed.raised is not None:  # the COPY failed because the query, the encoder or an interrupt did
            raise feed.raised from None
        raise
    finally:
        stop.set()
        writer.join()
    if cur.rowcount != produced[0]:
        raise RuntimeError(f"COPY took {cur.rowcount} of the {produced[0]} rows the query gave")
