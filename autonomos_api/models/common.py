"""Shapes shared by every resource: the list envelope and a plain message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field

T = TypeVar("T")


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# The store keeps UTC; SQLite hands it back without an offset, so responses always carry one.
UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class Page(BaseModel, Generic[T]):
    """A page of a list: the rows, the exact number of matching rows, and the cursor of the next page."""

    data: list[T]
    total: int = Field(description="number of rows matching the filters, over all pages")
    next_cursor: str | None = Field(None, description="pass as `cursor` to get the next page; null on the last page")


class Message(BaseModel):
    """A human-readable confirmation."""

    message: str
