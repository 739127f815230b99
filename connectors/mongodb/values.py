"""BSON values (ObjectId, datetime, Decimal128, Binary, ...) converted to Python natives or JSON-safe scalars."""

from __future__ import annotations

from typing import Any

from bson import Binary, Decimal128, ObjectId, Regex, Timestamp
from bson.dbref import DBRef

from connectors.values import json_safe

__all__ = ["native", "plain"]


def native(value: Any) -> Any:
    """A plain Python value keeping its kind: ObjectId hex, Decimal, datetime, bytes."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, Timestamp):
        return value.as_datetime()
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, Regex):
        return value.pattern if isinstance(value.pattern, str) else value.pattern.decode()
    if isinstance(value, DBRef):
        return native(value.id)
    return value


def plain(value: Any) -> Any:
    """A JSON-safe scalar: ISO 8601 UTC datetimes, exact decimal text, base64 bytes (see connectors.values)."""
    return json_safe(native(value))
