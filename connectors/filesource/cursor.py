"""The FileSource cursor: the content hash of every file read completely, plus progress inside one file.

JSON shape: {"files": {"accounts.csv": "<sha256>"}, "partial": {"file": ..., "sha256": ..., "rows": n,
"errors": m}}; "partial" is present only between the batches of a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from connectors.exceptions import TerminalConnectorError
from connectors.filesource.chunks import Position

__all__ = ["FileCursor"]


@dataclass(frozen=True)
class FileCursor:
    """Which files of a stream are done (by content hash) and how far the current file got."""

    files: dict[str, str] = field(default_factory=dict)
    partial_file: str | None = None
    partial_sha256: str | None = None
    partial_position: Position = field(default_factory=Position)

    @classmethod
    def load(cls, cursor: str | None) -> FileCursor:
        """Parse a cursor string (None means nothing read yet)."""
        if cursor is None:
            return cls()
        try:
            data = json.loads(cursor)
            partial = data.get("partial") or {}
            return cls(
                files={str(k): str(v) for k, v in data["files"].items()},
                partial_file=partial.get("file"),
                partial_sha256=partial.get("sha256"),
                partial_position=Position(int(partial.get("rows", 0)), int(partial.get("errors", 0))),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TerminalConnectorError(f"not a FileSource cursor: {cursor[:200]!r}") from exc

    def dump(self) -> str:
        """The cursor as a JSON string."""
        data: dict[str, object] = {"files": dict(sorted(self.files.items()))}
        if self.partial_file is not None:
            data["partial"] = {
                "file": self.partial_file,
                "sha256": self.partial_sha256,
                "rows": self.partial_position.rows,
                "errors": self.partial_position.errors,
            }
        return json.dumps(data, separators=(",", ":"))

    def start(self, name: str, sha256: str) -> Position:
        """Where to start reading a file: after the partial progress if it is the same content, else at 0."""
        if self.partial_file == name and self.partial_sha256 == sha256:
            return self.partial_position
        return Position()

    def in_progress(self, name: str, sha256: str, position: Position) -> FileCursor:
        """The cursor after reading up to position in a file."""
        return replace(self, partial_file=name, partial_sha256=sha256, partial_position=position)

    def finished(self, name: str, sha256: str) -> FileCursor:
        """The cursor after a file was read to its end."""
        return FileCursor(files={**self.files, name: sha256})

    def keep_only(self, names: set[str]) -> FileCursor:
        """Forget files that are gone from the directory."""
        return replace(self, files={k: v for k, v in self.files.items() if k in names})
