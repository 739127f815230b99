"""Result types of the mapping engine and the three small interfaces it can be extended through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from autonomos_pipeline.dcl.llm.base import LLMAdvisor as LLMAdvisor
from autonomos_pipeline.dcl.llm.base import LLMChoice as LLMChoice

Decision = Literal["auto", "review", "unmapped"]


@dataclass(frozen=True)
class MemoryHit:
    """One approved mapping retrieved from memory."""

    canonical_field: str | None
    similarity: float
    source_field: str
    tenant_id: str


class Embedder(Protocol):
    """Turns texts into L2-normalised embedding rows."""

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised row per text."""
        ...


class MappingMemory(Protocol):
    """Retrieval memory of approved mappings (DuckDB, numpy or Pinecone)."""

    def add(
        self,
        tenant_id: str,
        key_text: str,
        vector: np.ndarray,
        entity: str,
        canonical_field: str | None,
        source_field: str,
    ) -> None:
        """Store one approved (source field -> canonical field or None) decision."""
        ...

    def query(self, tenant_id: str | None, vector: np.ndarray, entity: str, k: int = 5) -> list[MemoryHit]:
        """Return the k most similar approved decisions for the entity, best first."""
        ...


@dataclass
class FieldSuggestion:
    """The engine's answer for one source field."""

    source_field: str
    canonical_field: str | None
    confidence: float
    decision: Decision
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class MappingSuggestion:
    """The engine's answer for one source table and entity."""

    entity: str
    fields: list[FieldSuggestion]
    coverage: float
    auto_threshold: float
    llm_calls: int = 0
    llm_calls_saved: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (alternatives as [field, score] pairs)."""
        out = asdict(self)
        for fld in out["fields"]:
            fld["alternatives"] = [[name, score] for name, score in fld["alternatives"]]
        return out

    def mapping(self, *, auto_only: bool = True) -> dict[str, str]:
        """Source field -> canonical field for the auto decisions (or every mapped field)."""
        return {
            f.source_field: f.canonical_field
            for f in self.fields
            if f.canonical_field is not None and (f.decision == "auto" or not auto_only)
        }
