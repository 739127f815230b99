"""FileSource: every supported file in one directory is a stream named by its stem, read incrementally by content."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path

import pyarrow as pa

from connectors.base import DEFAULT_BATCH_SIZE, Batch, CheckResult, Connector
from connectors.exceptions import TerminalConnectorError
from connectors.filesource.chunks import Chunk, Position
from connectors.filesource.config import FileSourceConfig
from connectors.filesource.csv_reader import read_csv
from connectors.filesource.cursor import FileCursor
from connectors.filesource.encoding import FileScan, scan_file
from connectors.filesource.json_reader import read_json, read_jsonl
from connectors.filesource.parquet_reader import arrow_field_type, read_parquet
from connectors.values import FieldProfiler
from schemas.source_schema import FieldType, SourceSchema

__all__ = ["FileSourceConnector"]

logger = logging.getLogger(__name__)

Reader = Callable[[Path, FileScan, str, int, Position], Iterator[Chunk]]
READERS: dict[str, Reader] = {
    ".csv": read_csv,
    ".tsv": read_csv,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".parquet": read_parquet,
}
_PROFILE_ROWS = 1_000


def primary_key_for(stream: str, columns: list[str]) -> list[str]:
    """The id column: `id` or `<stream>_id` (also singular, `account_id` for `accounts`), any letter case."""
    singular = stream[:-1] if stream.lower().endswith("s") else stream
    wanted = ["id", f"{stream}_id".lower(), f"{singular}_id".lower()]
    lowered = {c.lower(): c for c in reversed(columns)}
    return next(([lowered[w]] for w in wanted if w in lowered), [])


class FileSourceConnector(Connector):
    """Reads CSV, JSON, JSONL and Parquet files from a directory (see the package docstring for the rules)."""

    system = "filesource"

    def __init__(self, config: FileSourceConfig) -> None:
        self.config = config
        self._scans: dict[Path, tuple[tuple[int, int, int, int], FileScan]] = {}

    def _scan(self, path: Path) -> FileScan:
        """scan_file, once per version of the file for this connector: discover and read of one ingest share the
        pass (0.25 s for a 194 MB CSV); a file whose size, modification time, inode or device changed is scanned
        again."""
        info = path.stat()
        version = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)
        known = self._scans.get(path)
        if known is not None and known[0] == version:
            return known[1]
        scan = scan_file(path)
        self._scans[path] = (version, scan)
        return scan

    def _streams(self) -> dict[str, list[Path]]:
        root = self.config.path
        if not root.is_dir():
            raise TerminalConnectorError(f"FileSource directory {root} does not exist or is not a directory")
        streams: dict[str, list[Path]] = {}
        for path in sorted(root.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in READERS:
                streams.setdefault(path.stem, []).append(path)
        return streams

    def _chunks(
        self, path: Path, scan: FileScan, stream: str, batch_size: int, start: Position
    ) -> Generator[Chunk, None, None]:
        reader = READERS[path.suffix.lower()]
        try:
            yield from reader(path, scan, stream, batch_size, start)
        except (OSError, pa.ArrowException) as exc:
            raise TerminalConnectorError(f"cannot read {path.name}: {exc}") from exc

    def check(self) -> CheckResult:
        try:
            streams = self._streams()
        except TerminalConnectorError as exc:
            return CheckResult(False, exc.reason)
        files = sum(len(paths) for paths in streams.values())
        return CheckResult(True, f"{files} readable files in {len(streams)} streams under {self.config.path}")

    def _schema(self, stream: str, paths: list[Path]) -> SourceSchema:
        declared: dict[str, FieldType] = {}
        profiler = FieldProfiler(declared)
        for path in paths:
            scan = self._scan(path)
            if scan.empty:
                logger.warning("empty file: stream has no fields from it", extra={"file": path.name})
                continue
            with closing(self._chunks(path, scan, stream, _PROFILE_ROWS, Position())) as chunks:
                chunk = next(chunks, None)
            if chunk is None:
                continue
            if path.suffix.lower() == ".parquet":
                declared.update({f.name: arrow_field_type(f.type) for f in chunk.table.schema})
            profiler.add_columns(chunk.table.column_names)
            for row in chunk.documents if chunk.documents is not None else chunk.table.to_pylist():
                profiler.add(row)
        fields = profiler.fields()
        return SourceSchema(stream=stream, fields=fields, primary_key=primary_key_for(stream, [f.name for f in fields]))

    def discover(self) -> list[SourceSchema]:
        return [self._schema(stream, paths) for stream, paths in self._streams().items()]

    def read(self, stream: str, cursor: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        streams = self._streams()
        if stream not in streams:
            raise TerminalConnectorError(
                f"no stream {stream!r} in {self.config.path}: expected a file named {stream}.csv, .json, "
                ".jsonl or .parquet"
            )
        state = FileCursor.load(cursor).keep_only({p.name for p in streams[stream]})
        for path in streams[stream]:
            scan = self._scan(path)
            if state.files.get(path.name) == scan.sha256:
                logger.debug("file unchanged, skipped", extra={"file": path.name})
                continue
            yield from self._read_file(stream, path, scan, state, batch_size)
            state = state.finished(path.name, scan.sha256)

    def _read_file(
        self, stream: str, path: Path, scan: FileScan, state: FileCursor, batch_size: int
    ) -> Iterator[Batch]:
        """Batches of one file; the last one carries the cursor marking the file done."""
        position = state.start(path.name, scan.sha256)
        chunks = iter(() if scan.empty else self._chunks(path, scan, stream, batch_size, position))
        previous = next(chunks, None)
        for chunk in chunks:
            assert previous is not None
            position = position.after(previous)
            partial = state.in_progress(path.name, scan.sha256, position)
            yield Batch(stream, previous.table, partial.dump(), previous.errors, source=path.name)
            previous = chunk
        last = previous or Chunk(pa.table({}))
        done = state.finished(path.name, scan.sha256).dump()
        logger.info("file read", extra={"file": path.name, "stream": stream})
        yield Batch(stream, last.table, done, last.errors, source=path.name)
