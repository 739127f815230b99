"""Keyset pagination: an opaque cursor holds the sort key and id of the last row; pages are stable under inserts."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from autonomos_api.core.errors import APIError


def invalid(field: str, message: str) -> APIError:
    """A 422 naming one query field, shaped like FastAPI's own validation errors."""
    return APIError(422, "validation_error", f"{field}: {message}", errors=[{"field": field, "message": message}])


@dataclass(frozen=True)
class SortKey:
    """The column a list is ordered by (then by id), its direction, and whether it may be NULL (sorted last)."""

    name: str
    column: InstrumentedAttribute[Any] | ColumnElement[Any]
    id_column: InstrumentedAttribute[Any] | ColumnElement[Any]
    descending: bool = False
    nullable: bool = False
    is_datetime: bool = False


def encode_cursor(key: SortKey, value: Any, row_id: uuid.UUID) -> str:
    """The opaque cursor after a row."""
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps({"s": key.name, "k": value, "i": str(row_id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(key: SortKey, cursor: str) -> tuple[Any, uuid.UUID]:
    """The (sort value, id) a cursor holds; 422 when it is malformed or belongs to another sort order."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, dict) or raw.get("s") != key.name:
            raise ValueError("cursor of another sort order")
        value = raw.get("k")
        if value is not None:
            value = datetime.fromisoformat(value) if key.is_datetime else str(value)
        return value, uuid.UUID(str(raw["i"]))
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", "not a cursor of this list and sort order; start again without one") from None


def _after(key: SortKey, value: Any, row_id: uuid.UUID) -> ColumnElement[bool]:
    col: Any = key.column
    id_col: Any = key.id_column
    if value is None:  # already in the NULL tail
        return and_(col.is_(None), id_col < row_id if key.descending else id_col > row_id)
    if key.descending:
        cond = and_(col <= value, or_(col < value, id_col < row_id))
    else:
        cond = and_(col >= value, or_(col > value, id_col > row_id))
    return or_(cond, col.is_(None)) if key.nullable else cond


def _order(key: SortKey) -> list[Any]:
    if key.descending:
        return [key.column.desc().nulls_last(), key.id_column.desc()]
    return [key.column.asc().nulls_last(), key.id_column.asc()]


def _page_query(query: Select[Any], key: SortKey, limit: int, cursor: str | None) -> Select[Any]:
    if cursor:
        query = query.where(_after(key, *decode_cursor(key, cursor)))
    return query.order_by(*_order(key)).limit(limit + 1)


def _cut(key: SortKey, rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(key, getattr(last, str(key.column.key)), getattr(last, str(key.id_column.key)))


def keyset_page(
    session: Session, query: Select[Any], key: SortKey, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of query's entities after cursor, and the cursor of the next page (None on the last)."""
    return _cut(key, list(session.scalars(_page_query(query, key, limit, cursor))), limit)


def keyset_rows(
    connection: Connection, query: Select[Any], key: SortKey, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """keyset_page for a Core query on a connection: one page of rows after cursor, and the next cursor."""
    return _cut(key, list(connection.execute(_page_query(query, key, limit, cursor))), limit)


def filtered_page(
    session: Session, model: Any, conditions: list[ColumnElement[bool]], key: SortKey, limit: int, cursor: str | None
) -> tuple[list[Any], int, str | None]:
    """Rows of model matching conditions: one keyset page, the exact total, and the next cursor."""
    total = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    rows, next_cursor = keyset_page(session, select(model).where(*conditions), key, limit, cursor)
    return rows, total, next_cursor


def equal_filters(filters: dict[Any, Any]) -> list[ColumnElement[bool]]:
    """column == value for each given (not None) value."""
    return [column == value for column, value in filters.items() if value is not None]
