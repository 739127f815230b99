"""Parquet files: streamed in row batches with their native Arrow types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.filesource.chunks import Chunk, Position, skip_chunks
from connectors.filesource.encoding import FileScan
from schemas.source_schema import FieldType

__all__ = ["arrow_field_type", "read_parquet"]


def arrow_field_type(data_type: pa.DataType) -> FieldType:
    """The FieldType of an Arrow type."""
    checks = (
        (pa.types.is_boolean, FieldType.BOOLEAN),
        (pa.types.is_integer, FieldType.INTEGER),
        (pa.types.is_floating, FieldType.NUMBER),
        (pa.types.is_decimal, FieldType.NUMBER),
        (pa.types.is_timestamp, FieldType.DATETIME),
        (pa.types.is_date, FieldType.DATE),
        (pa.types.is_string, FieldType.STRING),
        (pa.types.is_large_string, FieldType.STRING),
        (pa.types.is_struct, FieldType.OBJECT),
        (pa.types.is_list, FieldType.ARRAY),
        (pa.types.is_large_list, FieldType.ARRAY),
    )
    return next((field_type for check, field_type in checks if check(data_type)), FieldType.UNKNOWN)


def _chunks(path: Path, batch_size: int) -> Iterator[Chunk]:
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    empty = True
    for record_batch in parquet.iter_batches(batch_size=batch_size):
        empty = False
        yield Chunk(pa.Table.from_batches([record_batch], schema=schema))
    if empty:
        yield Chunk(schema.empty_table())


def read_parquet(path: Path, scan: FileScan, stream: str, batch_size: int, start: Position) -> Iterator[Chunk]:
    """Yield chunks of at most batch_size rows from start."""
    yield from skip_chunks(_chunks(path, batch_size), start)
