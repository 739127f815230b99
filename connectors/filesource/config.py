"""Configuration of a FileSource connection."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["FileSourceConfig"]


class FileSourceConfig(BaseModel):
    """A directory holding the connection's CSV, JSON, JSONL and Parquet files."""

    model_config = ConfigDict(extra="forbid")

    path: Path
