"""JSON files (one array of objects) and JSON Lines files; nested objects are flattened to dot paths.

A JSON array is decoded element by element so each record knows its line; if the array breaks part-way, the
records before the break still come through and the rest of the file becomes one RecordError at the break.
JSON Lines reports each broken or non-object line on its own. Blank lines are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.base import RecordError
from connectors.documents import flatten
from connectors.filesource.chunks import Chunk, Position, skip_chunks
from connectors.filesource.encoding import FileScan, has_undecodable, open_text, render_raw
from connectors.tabular import rows_to_table

__all__ = ["read_json", "read_jsonl"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Batcher:
    """Collects flattened rows and errors and cuts them into chunks of batch_size rows."""

    def __init__(self, stream: str, source: str, batch_size: int) -> None:
        self.stream, self.source, self.batch_size = stream, source, batch_size
        self.rows: list[dict[str, Any]] = []
        self.errors: list[RecordError] = []
        self.handed_out = False

    def record(self, value: Any, raw: str, line: int) -> Chunk | None:
        if not isinstance(value, dict):
            self.error(f"expected a JSON object, found {type(value).__name__}", raw, line)
        else:
            self.rows.append(flatten(value))
        return self.cut() if len(self.rows) >= self.batch_size else None

    def error(self, reason: str, raw: str, line: int) -> None:
        self.errors.append(RecordError(self.stream, reason, raw, line, self.source))

    def cut(self) -> Chunk:
        chunk = Chunk(rows_to_table(self.rows), self.errors, documents=self.rows)
        self.rows, self.errors, self.handed_out = [], [], True
        return chunk

    def rest(self) -> Iterator[Chunk]:
        """The last chunk, unless it would be an empty one after others."""
        if self.rows or self.errors or not self.handed_out:
            yield self.cut()


def _array_chunks(path: Path, scan: FileScan, stream: str, batch_size: int) -> Iterator[Chunk]:
    with open_text(path, scan.encoding) as handle:
        text = handle.read()
    batcher = _Batcher(stream, path.name, batch_size)
    decoder = json.JSONDecoder()
    pos = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    line = 1 + text.count("\n", 0, pos)
    if not text.startswith("[", pos):
        batcher.error("expected a JSON array of objects", render_raw(text), line)
        yield batcher.cut()
        return
    pos += 1
    while True:
        start = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
        line += text.count("\n", pos, start)
        if text.startswith("]", start):
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            batcher.error(f"invalid JSON: {exc.msg}", render_raw(text[start:]), exc.lineno)
            break
        if (chunk := batcher.record(value, text[start:end], line)) is not None:
            yield chunk
        line += text.count("\n", start, end)
        pos = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        line += text.count("\n", end, pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            batcher.error("expected ',' or ']' between array elements", render_raw(text[pos:]), line)
            break
    yield from batcher.rest()


def _lines_chunks(path: Path, scan: FileScan, stream: str, batch_size: int) -> Iterator[Chunk]:
    batcher = _Batcher(stream, path.name, batch_size)
    with open_text(path, scan.encoding) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            if has_undecodable(text):
                reason = f"bytes not valid in the file's encoding ({scan.encoding})"
                batcher.error(reason, render_raw(text), number)
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                batcher.error(f"invalid JSON: {exc.msg} (column {exc.colno})", text, number)
                continue
            if (chunk := batcher.record(value, text, number)) is not None:
                yield chunk
    yield from batcher.rest()


def read_json(path: Path, scan: FileScan, stream: str, batch_size: int, start: Position) -> Iterator[Chunk]:
    """Yield chunks of a JSON array file from start (the whole file is held in memory while reading)."""
    yield from skip_chunks(_array_chunks(path, scan, stream, batch_size), start)


def read_jsonl(path: Path, scan: FileScan, stream: str, batch_size: int, start: Position) -> Iterator[Chunk]:
    """Yield chunks of a JSON Lines file from start, streaming line by line."""
    yield from skip_chunks(_lines_chunks(path, scan, stream, batch_size), start)
