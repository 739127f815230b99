"""CSV files: dialect detection, a fast pyarrow streaming path and a careful line-tracking Python path.

The fast path (pyarrow.csv.open_csv, transcoding legacy encodings) runs unless the file is UTF-8 known to hold
invalid bytes. Anything pyarrow rejects (a wrong field count, a value larger than a block, an undecodable
byte) switches to the careful path from the last row handed out, because pyarrow numbers invalid rows by
record, not by physical line. The careful path reports every malformed record with its 1-based starting line
and raw text. All values stay raw text (pa.string()); blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.base import RecordError
from connectors.filesource.chunks import Chunk, Position, skip_chunks
from connectors.filesource.encoding import FileScan, has_undecodable, open_text, render_raw
from connectors.tabular import string_table

__all__ = ["detect_delimiter", "read_csv"]

logger = logging.getLogger(__name__)

csv.field_size_limit(2**31 - 1)

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_CHARS = 1 << 16
_BLOCK_SIZE = 1 << 22
_ARROW_ENCODINGS = {"utf-8": "utf8", "utf-8-sig": "utf8"}


def detect_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the sample's records into the most consistent field count (>1)."""
    if len(sample) >= _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        score = (hits / len(counts) if width > 1 else 0.0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for index, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{index}"
        candidate, n = name, 2
        while candidate in names:
            candidate, n = f"{name}_{n}", n + 1
        names.append(candidate)
    return names


class _LineTracker:
    """Feeds lines to csv.reader while remembering the raw text and first line of the current record."""

    def __init__(self, handle: Iterable[str]) -> None:
        self._handle = handle
        self.raw: list[str] = []
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        for text in self._handle:
            self.line += 1
            self.raw.append(text)
            yield text

    def take(self) -> tuple[str, int]:
        """The raw text of the record just parsed and its first line number."""
        raw, first = "".join(self.raw), self.line - len(self.raw) + 1
        self.raw = []
        return raw, first


def _records(path: Path, scan: FileScan, stream: str) -> Iterator[list[str] | RecordError]:
    """The header, then each well-formed record or the RecordError of a malformed one, in file order."""
    undecodable = f"bytes not valid in the file's encoding ({scan.encoding})"
    with open_text(path, scan.encoding) as handle:
        sample = handle.read(_SAMPLE_CHARS)
        handle.seek(0)
        tracker = _LineTracker(handle)
        reader = csv.reader(tracker, delimiter=detect_delimiter(sample))
        width: int | None = None
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raw, line = tracker.take()
                if not raw:
                    return
                yield RecordError(stream, f"unparseable CSV: {exc}", render_raw(raw), line, path.name)
                continue
            raw, line = tracker.take()
            if not record:
                continue
            if has_undecodable(raw):
                yield RecordError(stream, undecodable, render_raw(raw), line, path.name)
            elif width is None or len(record) == width:
                width = len(record) if width is None else width
                yield record
            else:
                yield RecordError(stream, f"expected {width} fields, found {len(record)}", raw, line, path.name)


def _careful(path: Path, scan: FileScan, stream: str, batch_size: int, start: Position) -> Iterator[Chunk]:
    """Chunks from the line-tracking parser; rows and errors before start are counted off, not built."""
    skip_rows, skip_errors = start.rows, start.errors
    columns: list[str] | None = None
    rows: list[list[str]] = []
    errors: list[RecordError] = []
    handed_out = False
    for item in _records(path, scan, stream):
        if isinstance(item, RecordError):
            if skip_errors:
                skip_errors -= 1
            else:
                errors.append(item)
        elif columns is None:
            columns = _column_names(item)
        elif skip_rows:
            skip_rows -= 1
        else:
            rows.append(item)
            if len(rows) >= batch_size:
                yield Chunk(string_table(columns, rows), errors)
                rows, errors, handed_out = [], [], True
    if rows or errors or not handed_out:
        yield Chunk(string_table(columns or [], rows), errors)


def _fast(path: Path, encoding: str, columns: list[str], delimiter: str, batch_size: int) -> Iterator[Chunk]:
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=columns, skip_rows=1, block_size=_BLOCK_SIZE, encoding=_ARROW_ENCODINGS.get(encoding, encoding)
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    pending: list[pa.RecordBatch] = []
    buffered = handed_out = 0
    for record_batch in reader:
        pending.append(record_batch)
        buffered += record_batch.num_rows
        while buffered >= batch_size:
            table = pa.Table.from_batches(pending, schema=reader.schema)
            yield Chunk(table.slice(0, batch_size))
            handed_out += batch_size
            rest = table.slice(batch_size)
            pending, buffered = rest.to_batches(), rest.num_rows
    if buffered or not handed_out:
        yield Chunk(pa.Table.from_batches(pending, schema=reader.schema))


def _header(path: Path, scan: FileScan) -> tuple[list[str], str] | None:
    with open_text(path, scan.encoding) as handle:
        sample = handle.read(_SAMPLE_CHARS)
    delimiter = detect_delimiter(sample)
    first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), None)
    return (_column_names(first), delimiter) if first else None


def read_csv(path: Path, scan: FileScan, stream: str, batch_size: int, start: Position) -> Iterator[Chunk]:
    """Yield chunks of at most batch_size rows from start; malformed records come as RecordErrors."""
    header = _header(path, scan) if scan.clean else None
    if header is None:
        yield from _careful(path, scan, stream, batch_size, start)
        return
    position = start
    try:
        for chunk in skip_chunks(_fast(path, scan.encoding, *header, batch_size), start):
            yield chunk
            position = position.after(chunk)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        logger.info(
            "switching to careful CSV parsing", extra={"file": path.name, "row": position.rows, "cause": str(exc)}
        )
        yield from _careful(path, scan, stream, batch_size, position)
