"""The MongoDB cursor: (cursor field value, _id) of the last document handed out, as Extended JSON.

Documents are read sorted by (cursor field, _id); the next read asks for `field > value OR (field = value AND
_id > last_id)`, so documents sharing a value are never lost between batches. Documents missing the field (or
holding null) sort first and are read as the lowest value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS

from connectors.exceptions import TerminalConnectorError

__all__ = ["MongoCursor"]

_LOAD_OPTIONS = CANONICAL_JSON_OPTIONS.with_options(tz_aware=False)


def lookup(document: dict[str, Any], path: str) -> Any:
    """The value at a dot path, None when any step is missing."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class MongoCursor:
    """Position after one document in (field, _id) order."""

    value: Any
    last_id: Any

    @classmethod
    def load(cls, cursor: str | None) -> MongoCursor | None:
        """Parse a cursor string; None means read everything."""
        if cursor is None:
            return None
        try:
            data = json_util.loads(cursor, json_options=_LOAD_OPTIONS)
            return cls(data["value"], data["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TerminalConnectorError(f"not a MongoDB cursor: {cursor[:200]!r}") from exc

    @classmethod
    def after(cls, document: dict[str, Any], field: str) -> MongoCursor:
        """The position after a document."""
        return cls(lookup(document, field), document["_id"])

    def dump(self) -> str:
        """The cursor as a canonical Extended JSON string (keeps ObjectId, dates, decimals exact)."""
        return json_util.dumps({"value": self.value, "id": self.last_id}, json_options=CANONICAL_JSON_OPTIONS)

    def filter(self, field: str) -> dict[str, Any]:
        """The query for documents after this position."""
        if field == "_id":
            return {"_id": {"$gt": self.last_id}}
        if self.value is None:
            return {"$or": [{field: None, "_id": {"$gt": self.last_id}}, {field: {"$ne": None}}]}
        return {"$or": [{field: {"$gt": self.value}}, {field: self.value, "_id": {"$gt": self.last_id}}]}
