"""The unit file readers produce (rows plus record errors) and resuming part-way through a file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from connectors.base import RecordError

__all__ = ["Chunk", "Position", "skip_chunks"]


@dataclass(frozen=True)
class Position:
    """How far into one file a read got: good rows and record errors already handed out."""

    rows: int = 0
    errors: int = 0

    def after(self, chunk: Chunk) -> Position:
        """The position after also handing out chunk."""
        return Position(self.rows + chunk.table.num_rows, self.errors + len(chunk.errors))


@dataclass
class Chunk:
    """Rows read from one file and the records of the same stretch that could not be read."""

    table: pa.Table
    errors: list[RecordError] = field(default_factory=list)
    documents: list[dict[str, Any]] | None = None  # flattened rows before Arrow conversion, for profiling


def skip_chunks(chunks: Iterator[Chunk], position: Position) -> Iterator[Chunk]:
    """Drop the first position.rows rows and position.errors errors; files re-read in the same order."""
    rows, errors = position.rows, position.errors
    for chunk in chunks:
        if rows == 0 and errors == 0:
            yield chunk
            continue
        table = chunk.table.slice(min(rows, chunk.table.num_rows))
        rows -= chunk.table.num_rows - table.num_rows
        kept = chunk.errors[errors:]
        errors -= len(chunk.errors) - len(kept)
        if table.num_rows or kept:
            yield Chunk(table, kept)
