"""MongoDB connector: collections as streams, documents flattened to dot paths, read by (field, _id) keyset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymongo
from pymongo.database import Database
from pymongo.errors import ConfigurationError, ConnectionFailure, OperationFailure, PyMongoError

from connectors.base import DEFAULT_BATCH_SIZE, Batch, CheckResult, Connector
from connectors.documents import flatten
from connectors.exceptions import ConnectorError, TerminalConnectorError, TransientConnectorError
from connectors.mongodb.config import MongoConfig
from connectors.mongodb.cursor import MongoCursor
from connectors.mongodb.values import native, plain
from connectors.tabular import rows_to_table
from connectors.values import FieldProfiler
from schemas.source_schema import SourceSchema

__all__ = ["MongoConnector"]

logger = logging.getLogger(__name__)

_AUTH_CODES = {13, 18}  # Unauthorized, AuthenticationFailed


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn pymongo errors into transient (network) or terminal (auth, config, other) connector errors."""
    try:
        yield
    except ConnectorError:
        raise
    except ConnectionFailure as exc:
        raise TransientConnectorError(f"MongoDB: {action} failed: {exc}") from exc
    except OperationFailure as exc:
        kind = "not authorised" if exc.code in _AUTH_CODES else "refused"
        raise TerminalConnectorError(f"MongoDB: {action} {kind}: {exc}") from exc
    except (ConfigurationError, PyMongoError) as exc:
        raise TerminalConnectorError(f"MongoDB: {action} failed: {exc}") from exc


class MongoConnector(Connector):
    """Reads the collections of one database (see the package docstring for the rules)."""

    system = "mongodb"

    def __init__(self, config: MongoConfig) -> None:
        self.config = config
        self._client: Any = config.client
        self._owns_client = config.client is None

    @property
    def database(self) -> Database[Any]:
        """The configured database, connecting on first use."""
        if self._client is None:
            with _translated("connecting"):
                self._client = pymongo.MongoClient(
                    self.config.url, serverSelectionTimeoutMS=self.config.server_selection_timeout_ms
                )
        database: Database[Any] = self._client[self.config.database]
        return database

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def _collections(self) -> list[str]:
        with _translated("listing collections"):
            present = sorted(n for n in self.database.list_collection_names() if not n.startswith("system."))
        wanted = self.config.collections
        if wanted is None:
            return present
        missing = [name for name in wanted if name not in present]
        if missing:
            raise TerminalConnectorError(
                f"collection(s) {', '.join(missing)} do not exist in database {self.config.database!r}"
            )
        return list(wanted)

    def check(self) -> CheckResult:
        try:
            with _translated("ping"):
                self.database.command("ping")
            collections = self._collections()
        except ConnectorError as exc:
            return CheckResult(False, exc.reason)
        return CheckResult(True, f"connected to database {self.config.database}; {len(collections)} collections")

    def _sample(self, name: str) -> list[dict[str, Any]]:
        """The oldest and newest documents by _id: deterministic, so repeated discovers agree."""
        half = max(self.config.sample_size // 2, 1)
        collection = self.database[name]
        oldest = list(collection.find().sort("_id", 1).limit(half))
        newest = list(collection.find().sort("_id", -1).limit(half))
        seen = {doc["_id"] for doc in oldest}
        return oldest + [doc for doc in reversed(newest) if doc["_id"] not in seen]

    def discover(self) -> list[SourceSchema]:
        schemas = []
        for name in self._collections():
            profiler = FieldProfiler(infer_text=False)
            with _translated(f"sampling {name}"):
                for document in self._sample(name):
                    profiler.add(flatten(document, native))
            schemas.append(
                SourceSchema(
                    stream=name, fields=profiler.fields(), primary_key=["_id"], cursor_field=self.config.cursor_field
                )
            )
        return schemas

    def read(self, stream: str, cursor: str | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        with _translated(f"checking collection {stream}"):
            exists = stream in self.database.list_collection_names()
        if not exists:
            raise TerminalConnectorError(f"collection {stream!r} does not exist in database {self.config.database!r}")
        field = self.config.cursor_field
        position = MongoCursor.load(cursor)
        query = position.filter(field) if position is not None else {}
        order = [("_id", 1)] if field == "_id" else [(field, 1), ("_id", 1)]
        rows: list[dict[str, Any]] = []
        with _translated(f"reading {stream}"):
            documents = self.database[stream].find(query).sort(order).batch_size(min(batch_size, 10_000))
            for document in documents:
                rows.append(flatten(document, plain))
                position = MongoCursor.after(document, field)
                if len(rows) >= batch_size:
                    yield Batch(stream, rows_to_table(rows), position.dump(), [])
                    rows = []
        if rows and position is not None:
            yield Batch(stream, rows_to_table(rows), position.dump(), [])
