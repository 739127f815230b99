"""Configuration of a Supabase (PostgreSQL) connection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SupabaseConfig"]


class SupabaseConfig(BaseModel):
    """A PostgreSQL URL, the schema whose tables are streams, and the column that orders changes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(min_length=1, description="postgresql://user:password@host:5432/database")
    schema_: str = Field("public", alias="schema", min_length=1)
    cursor_column: str = Field("updated_at", min_length=1)
    tables: list[str] | None = None
    connect_timeout_seconds: int = Field(10, gt=0)
