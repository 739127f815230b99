"""Configuration of a MongoDB connection."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MongoConfig"]


class MongoConfig(BaseModel):
    """A MongoDB URL and database; collections default to all; `client` injects a ready client (tests)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    url: str = Field("mongodb://127.0.0.1:27017", min_length=1)
    database: str = Field(min_length=1)
    collections: list[str] | None = None
    cursor_field: str = Field("_id", min_length=1)
    sample_size: int = Field(1_000, gt=0)
    server_selection_timeout_ms: int = Field(5_000, gt=0)
    client: Any = Field(None, exclude=True, repr=False)
