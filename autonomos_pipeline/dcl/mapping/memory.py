"""Retrieval memory of approved mappings: an in-process numpy store and a persistent DuckDB store."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autonomos_pipeline.dcl.mapping.types import MemoryHit


@dataclass
class _Entry:
    tenant_id: str
    key_text: str
    entity: str
    canonical_field: str | None
    source_field: str


def _top_k(entries: list[_Entry], vectors: np.ndarray, query: np.ndarray, k: int) -> list[MemoryHit]:
    """Cosine top-k over already filtered entries (vectors are L2-normalised)."""
    if not entries:
        return []
    sims = vectors @ np.asarray(query, dtype=np.float32).ravel()
    order = np.argsort(-sims)[:k]
    return [
        MemoryHit(
            canonical_field=entries[i].canonical_field,
            similarity=float(np.clip(sims[i], -1.0, 1.0)),
            source_field=entries[i].source_field,
            tenant_id=entries[i].tenant_id,
        )
        for i in order
    ]


class NumpyMemory:
    """Approved mappings held in memory; per tenant unless share_across_tenants is set."""

    def __init__(self, *, share_across_tenants: bool = False) -> None:
        self.share_across_tenants = share_across_tenants
        self._entries: list[_Entry] = []
        self._vectors: list[np.ndarray] = []
        self._lock = threading.Lock()

    def add(
        self,
        tenant_id: str,
        key_text: str,
        vector: np.ndarray,
        entity: str,
        canonical_field: str | None,
        source_field: str,
    ) -> None:
        """Store (or replace) the decision for this tenant, entity and key text."""
        with self._lock:
            for i, e in enumerate(self._entries):
                if (e.tenant_id, e.entity, e.key_text) == (tenant_id, entity, key_text):
                    del self._entries[i], self._vectors[i]
                    break
            self._entries.append(_Entry(tenant_id, key_text, entity, canonical_field, source_field))
            self._vectors.append(np.asarray(vector, dtype=np.float32).ravel())

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """Most similar approved decisions visible to this tenant."""
        with self._lock:
            idx = [
                i
                for i, e in enumerate(self._entries)
                if e.entity == entity and (self.share_across_tenants or e.tenant_id == tenant_id)
            ]
            if not idx:
                return []
            return _top_k([self._entries[i] for i in idx], np.stack([self._vectors[i] for i in idx]), vector, k)


class DuckDBMemory:
    """Approved mappings persisted in one DuckDB file (default: settings.data_dir / mapping_memory.duckdb)."""

    def __init__(self, path: Path, *, share_across_tenants: bool = False) -> None:
        import duckdb

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.share_across_tenants = share_across_tenants
        self._lock = threading.Lock()
        self._con = duckdb.connect(str(self.path))
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS mapping_memory ("
            " tenant_id VARCHAR NOT NULL, entity VARCHAR NOT NULL, key_text VARCHAR NOT NULL,"
            " canonical_field VARCHAR, source_field VARCHAR NOT NULL, vector FLOAT[] NOT NULL,"
            " PRIMARY KEY (tenant_id, entity, key_text))"
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
        """Store (or replace) the decision for this tenant, entity and key text."""
        row = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        with self._lock:
            self._con.execute(
                "INSERT OR REPLACE INTO mapping_memory VALUES (?, ?, ?, ?, ?, ?)",
                [tenant_id, entity, key_text, canonical_field, source_field, row],
            )

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """Most similar approved decisions visible to this tenant."""
        sql = "SELECT tenant_id, key_text, entity, canonical_field, source_field, vector FROM mapping_memory"
        params: list[object] = [entity]
        sql += " WHERE entity = ?"
        if not self.share_across_tenants:
            sql += " AND tenant_id = ?"
            params.append(tenant_id or "")
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
        if not rows:
            return []
        entries = [_Entry(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        vectors = np.asarray([r[5] for r in rows], dtype=np.float32)
        return _top_k(entries, vectors, vector, k)

    def close(self) -> None:
        """Close the DuckDB connection."""
        with self._lock:
            self._con.close()
