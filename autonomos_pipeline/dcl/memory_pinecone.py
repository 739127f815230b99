"""Retrieval memory of approved mappings on a Pinecone index, spoken to over its data-plane REST API with httpx.

httpx rather than the `pinecone` package: the adapter needs two endpoints (`POST /vectors/upsert`, `POST /query`),
httpx is already a dependency, and a plain base URL lets tests point it at a local server speaking the same API.
Records live in namespace = tenant id, or in one shared namespace when memory is shared across tenants.
The index must use the cosine metric and the embedder's dimension.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import httpx
import numpy as np

from autonomos_pipeline.dcl.mapping.types import MemoryHit
from autonomos_pipeline.dcl.settings import Settings, get_settings

logger = logging.getLogger(__name__)

PINECONE_API_VERSION = "2025-04"
SHARED_NAMESPACE = "shared"
MAX_KEY_TEXT_CHARS = 1000
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})

__all__ = ["PINECONE_API_VERSION", "MemoryHit", "PineconeMemory", "PineconeMemoryError"]


class PineconeMemoryError(Exception):
    """An approved mapping could not be stored in Pinecone."""


class PineconeMemory:
    """MappingMemory on one Pinecone index: `add` upserts an approved decision, `query` finds similar ones."""

    def __init__(
        self,
        *,
        host: str,
        api_key: str,
        share_across_tenants: bool = False,
        api_version: str = PINECONE_API_VERSION,
        timeout_seconds: float = 10.0,
        retry_backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.share_across_tenants = share_across_tenants
        self.retry_backoff_seconds = retry_backoff_seconds
        base_url = host if "://" in host else f"https://{host}"
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Api-Key": api_key, "X-Pinecone-API-Version": api_version},
            timeout=timeout_seconds,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PineconeMemory | None:
        """The adapter for AUTONOMOS_PINECONE_HOST / _API_KEY, or None when either is unset."""
        settings = settings or get_settings()
        if not settings.pinecone_host or settings.pinecone_api_key is None:
            return None
        return cls(
            host=settings.pinecone_host,
            api_key=settings.pinecone_api_key.get_secret_value(),
            share_across_tenants=settings.share_memory_across_tenants,
        )

    def add(
        self,
        tenant_id: str,
        key_text: str,
        vector: np.ndarray,
        entity: str,
        canonical_field: str | None,
        source_field: str,
    ) -> None:
        """Store (or replace) this tenant's decision for entity and key text; raise PineconeMemoryError on failure."""
        metadata: dict[str, Any] = {
            "tenant_id": tenant_id,
            "entity": entity,
            "source_field": source_field,
            "key_text": key_text[:MAX_KEY_TEXT_CHARS],
        }
        if canonical_field is not None:  # Pinecone metadata cannot hold null: a missing key means "no field"
            metadata["canonical_field"] = canonical_field
        record = {"id": _record_id(tenant_id, entity, key_text), "values": _values(vector), "metadata": metadata}
        body = {"vectors": [record], "namespace": self._namespace(tenant_id)}
        try:
            self._post("/vectors/upsert", body)
        except (httpx.HTTPError, ValueError) as exc:
            raise PineconeMemoryError(f"upsert failed: {_describe(exc)}") from exc

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """The k most similar decisions visible to tenant_id for entity; [] (logged) when Pinecone fails."""
        if k <= 0 or (tenant_id is None and not self.share_across_tenants):
            return []
        namespace = self._namespace(tenant_id)
        body = {
            "namespace": namespace,
            "vector": _values(vector),
            "topK": k,
            "filter": {"entity": {"$eq": entity}},
            "includeMetadata": True,
            "includeValues": False,
        }
        try:
            answer = self._post("/query", body)
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning(
                "pinecone query failed; continuing without memory",
                extra={"tenant_id": tenant_id, "entity": entity, "error": _describe(exc)},
            )
            return []
        return [_hit(match, namespace) for match in answer.get("matches", [])]

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _namespace(self, tenant_id: str | None) -> str:
        if self.share_across_tenants or tenant_id is None:
            return SHARED_NAMESPACE
        return tenant_id

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST once, and once more after a short pause on 429 / 5xx / connection errors."""
        try:
            return self._post_once(path, body)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            if isinstance(exc, httpx.TimeoutException) or (
                isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code not in _TRANSIENT_STATUS
            ):
                raise
            logger.info("pinecone request failed, retrying once", extra={"path": path, "error": _describe(exc)})
            time.sleep(self.retry_backoff_seconds)
            return self._post_once(path, body)

    def _post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        response.raise_for_status()
        payload = response.json()
        if not isinstance(payload, dict):
            raise ValueError(f"unexpected answer from {path}")
        return payload


def _record_id(tenant_id: str, entity: str, key_text: str) -> str:
    """Deterministic id: re-approving the same field replaces the record instead of duplicating it."""
    return hashlib.sha256(json.dumps([tenant_id, entity, key_text]).encode()).hexdigest()


def _values(vector: np.ndarray) -> list[float]:
    values = np.asarray(vector, dtype=np.float32).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("vector must be non-empty and finite")
    return [float(v) for v in values]


def _hit(match: dict[str, Any], namespace: str) -> MemoryHit:
    metadata = match.get("metadata") or {}
    return MemoryHit(
        canonical_field=metadata.get("canonical_field") or None,
        similarity=float(match.get("score", 0.0)),
        source_field=str(metadata.get("source_field", "")),
        tenant_id=str(metadata.get("tenant_id", namespace)),
    )


def _describe(exc: Exception) -> str:
    """Error text for logs: status and Pinecone's message, never request headers."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}: {exc.response.text[:200]}"
    return f"{type(exc).__name__}: {exc}"[:300]
