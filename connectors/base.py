"""The connector protocol and the value types every connector returns (check results, batches, record errors)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar

import pyarrow as pa

from schemas.source_schema import SourceSchema

__all__ = ["DEFAULT_BATCH_SIZE", "Batch", "CheckResult", "Connector", "RecordError"]

DEFAULT_BATCH_SIZE = 50_000


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a health check: ok, and why (or why not) in a sentence."""

    ok: bool
    reason: str


@dataclass(frozen=True)
class RecordError:
    """A source record that could not be read; carried to quarantine with its raw text, never dropped."""

    stream: str
    reason: str
    raw: str
    line: int | None = None
    source: str | None = None


@dataclass
class Batch:
    """A slice of one stream: rows as an Arrow table, the cursor *after* these rows, and what failed.

    Persist `cursor` only after the batch has been written; reading again from it resumes after this batch.
    """

    stream: str
    table: pa.Table
    cursor: str | None
    errors: list[RecordError]
    deleted_ids: list[str] = field(default_factory=list)
    source: str | None = None


class Connector(ABC):
    """One connection to a source system: check health, discover streams, read them incrementally.

    Cursors are opaque JSON strings produced by the connector; callers only store and hand them back.
    """

    system: ClassVar[str]

    @abstractmethod
    def check(self) -> CheckResult:
        """Report whether the source is reachable and usable; never raises for expected failures."""

    @abstractmethod
    def discover(self) -> list[SourceSchema]:
        """Describe every stream: fields with inferred types, nullability, samples, primary key, cursor field."""

    @abstractmethod
    def read(self, stream: str, cursor: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Yield batches of rows changed after `cursor` (everything when None), each with its resume cursor."""

    def close(self) -> None:  # noqa: B027 - connectors without resources need not override
        """Release connections and clients held by the connector."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
