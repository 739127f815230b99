"""Side-effect-free mapping suggestions for an uploaded sample file: read-only memory, no LLM, no events."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from autonomos_api.core.errors import APIError
from autonomos_pipeline.dcl.mapping.types import MappingMemory, MappingSuggestion, MemoryHit

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FIELDS = 500
SUFFIXES = {".csv": ".csv", ".tsv": ".tsv", ".txt": ".csv", ".json": ".json", ".jsonl": ".jsonl",
            ".ndjson": ".jsonl", ".parquet": ".parquet"}  # fmt: skip
CONTENT_TYPES = {
    "text/csv": ".csv",
    "application/json": ".json",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
}


class ReadOnlyMemory:
    """A retrieval memory that answers queries from another memory and refuses to learn."""

    def __init__(self, inner: MappingMemory) -> None:
        self.inner = inner
        self.share_across_tenants = bool(getattr(inner, "share_across_tenants", False))

    def add(
        self,
        tenant_id: str,
        key_text: str,
        vector: np.ndarray,
        entity: str,
        canonical_field: str | None,
        source_field: str,
    ) -> None:
        """Refuse: a suggestion must not change what the engine remembers."""
        raise RuntimeError("the suggestion memory is read-only")

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """The inner memory's answer."""
        return self.inner.query(tenant_id, vector, entity, k)


def file_suffix(filename: str | None, content_type: str | None) -> str:
    """The reader format of an upload, from its file name or else its content type; 415 when neither is known."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CONTENT_TYPES:
        return CONTENT_TYPES[media]
    raise APIError(415, "unsupported_media_type", "the sample must be a .csv, .json (array), .jsonl or .parquet file")


def read_sample(data: bytes, suffix: str) -> list[dict[str, Any]]:
    """The sample's records, flattened as the CLI reads them; 422 when the file cannot be read or holds none."""
    from autonomos_pipeline.dcl.mapping import read_records

    with tempfile.TemporaryDirectory(prefix="autonomos-suggest-") as folder:
        path = Path(folder) / f"sample{suffix}"
        path.write_bytes(data)
        try:
            records = read_records(path)
        except Exception as exc:  # any parser (csv, json, pyarrow) failure means the file is not readable
            log.info("sample file unreadable: %s", type(exc).__name__)
            raise APIError(
                422, "unreadable_file", f"the {suffix.lstrip('.')} file cannot be read: {_reason(exc)}"
            ) from None
    if not records:
        raise APIError(422, "empty_file", "the file holds no records")
    return records


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def suggest(
    engine: Engine, tenant_id: str, records: list[dict[str, Any]], entity: str, stream: str
) -> MappingSuggestion:
    """The engine's suggestion: the tenant's memory (as the pipeline's) read, never written; no LLM, no events."""
    from autonomos_pipeline.dcl.mapping import MappingEngine, schema_from_records
    from autonomos_pipeline.dcl.memory_pinecone import PineconeMemory
    from autonomos_pipeline.dcl.memory_store import StoreMemory
    from autonomos_pipeline.dcl.settings import get_settings

    settings = get_settings()
    schema = schema_from_records(records, stream=stream)
    if len(schema.fields) > MAX_FIELDS:
        raise APIError(422, "too_many_fields", f"the sample has {len(schema.fields)} fields; at most {MAX_FIELDS}")
    inner = PineconeMemory.from_settings(settings) or StoreMemory(
        engine, share_across_tenants=settings.share_memory_across_tenants
    )
    memory = ReadOnlyMemory(inner)
    result: MappingSuggestion = MappingEngine(memory=memory, advisor=None, event_sink=None).suggest(
        schema, entity, tenant_id=tenant_id
    )
    return result
