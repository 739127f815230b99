"""MappingEngine: suggest canonical fields for a source table, with calibrated confidence, memory and an LLM."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autonomos_pipeline.dcl.mapping.advisor import MAX_CANDIDATES, ask_advisor
from autonomos_pipeline.dcl.mapping.embedding import SentenceTransformerEmbedder
from autonomos_pipeline.dcl.mapping.features import (
    FEATURES,
    FieldProfile,
    canonical_vectors,
    feature_tensor,
    profile_field,
)
from autonomos_pipeline.dcl.mapping.memory import DuckDBMemory
from autonomos_pipeline.dcl.mapping.scorer import Decided, ScorerParams, decide, load_params
from autonomos_pipeline.dcl.mapping.text import normalise
from autonomos_pipeline.dcl.mapping.types import (
    Decision,
    Embedder,
    FieldSuggestion,
    LLMAdvisor,
    MappingMemory,
    MappingSuggestion,
)
from autonomos_pipeline.dcl.settings import get_settings
from schemas.canonical import canonical_fields
from schemas.source_schema import SourceField, SourceSchema

logger = logging.getLogger(__name__)

RAG_SIMILARITY = 0.8  # a field counts as covered when its best memory match is more similar than this
RAG_EVENT_COVERAGE = 0.75  # publish rag_coverage_check from this coverage on
RAG_SKIP_LLM_COVERAGE = 0.8  # skip the LLM from this coverage on
MEMORY_REJECTION_SIMILARITY = 0.9  # an approved "no mapping" this similar decides the field
REVIEW_ALTERNATIVE = 0.1  # an unmapped field with an alternative this likely is still worth a second look
ESTIMATED_USD_PER_LLM_CALL = 0.002  # ~1.5k prompt + 100 completion tokens at small-model prices
EventSink = Callable[[str, dict[str, Any]], None]


@dataclass
class _Table:
    """Everything computed for one suggest call before decisions are made."""

    entity: str
    fields: list[str]  # canonical field names (columns of features)
    profiles: list[FieldProfile]
    features: np.ndarray
    decided: list[Decided]


def default_memory() -> DuckDBMemory:
    """The embedded memory under settings.data_dir, per tenant unless sharing is configured."""
    settings = get_settings()
    return DuckDBMemory(
        settings.data_dir / "mapping_memory.duckdb",
        share_across_tenants=settings.share_memory_across_tenants,
    )


class MappingEngine:
    """Maps source fields onto one canonical entity; works offline without any LLM."""

    def __init__(
        self,
        *,
        embedder: Embedder | None = None,
        memory: MappingMemory | None = None,
        advisor: LLMAdvisor | None = None,
        auto_threshold: float | None = None,
        event_sink: EventSink | None = None,
        params: ScorerParams | None = None,
        advisor_timeout: float | None = None,
    ) -> None:
        settings = get_settings()
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder()
        self.memory: MappingMemory = memory if memory is not None else default_memory()
        self.advisor = advisor
        self.params = params or load_params()
        threshold = auto_threshold if auto_threshold is not None else settings.auto_threshold
        self.auto_threshold = float(threshold if threshold is not None else self.params.auto_threshold)
        self.event_sink = event_sink
        self.advisor_timeout = advisor_timeout if advisor_timeout is not None else settings.llm_timeout_seconds

    # -- public API ---------------------------------------------------------------------------------------
    def suggest(self, schema: SourceSchema, entity: str, *, tenant_id: str | None = None) -> MappingSuggestion:
        """Suggest a canonical field (or none) for every field of the schema."""
        table = self.score(schema, entity, tenant_id=tenant_id)
        suggestions = [self._suggestion(table, i) for i in range(len(table.profiles))]
        coverage = self._coverage(table)
        review = [i for i, s in enumerate(suggestions) if self._in_review_band(s)]
        result = MappingSuggestion(entity, suggestions, coverage, self.auto_threshold)
        skip_llm = coverage >= RAG_SKIP_LLM_COVERAGE
        if skip_llm and self.advisor is not None:
            result.llm_calls_saved = len(review)
        if coverage >= RAG_EVENT_COVERAGE:
            self._emit_coverage(result, tenant_id, len(review), skip_llm)
        if self.advisor is not None and not skip_llm:
            for i in review:
                self._advise(result, table, i, tenant_id)
        return result

    def remember(self, *, tenant_id: str, entity: str, field: SourceField, canonical_field: str | None) -> None:
        """Store an approved decision so later suggestions (for this tenant, or all if shared) learn from it."""
        if canonical_field is not None and canonical_field not in canonical_fields(entity):
            raise ValueError(f"{canonical_field!r} is not a canonical {entity} field")
        key = normalise(field.name) or field.name.lower()
        vector = self.embedder.encode([key])[0]
        self.memory.add(tenant_id, key, vector, entity, canonical_field, field.name)

    def score(self, schema: SourceSchema, entity: str, *, tenant_id: str | None = None) -> _Table:
        """Compute profiles, memory hits, the feature tensor and the scorer's decisions (no thresholds)."""
        if entity not in ("account", "opportunity", "contact"):
            raise ValueError(f"unknown entity {entity!r}")
        profiles = [profile_field(f) for f in schema.fields]
        canon = canonical_vectors(self.embedder, entity)
        n = len(profiles)
        vectors = self.embedder.encode([p.name_text for p in profiles] + [p.profile_text for p in profiles])
        name_vecs, profile_vecs = vectors[:n], vectors[n:]
        if tenant_id is not None or getattr(self.memory, "share_across_tenants", False):
            for prof, vec in zip(profiles, name_vecs, strict=True):
                prof.memory = self.memory.query(tenant_id, vec, entity, k=5)
        x = feature_tensor(profiles, name_vecs, profile_vecs, canon, entity)
        return _Table(entity, canon.fields, profiles, x, decide(x, self.params))

    # -- helpers --------------------------------------------------------------------------------------------
    def _suggestion(self, table: _Table, i: int) -> FieldSuggestion:
        prof, dec = table.profiles[i], table.decided[i]
        choice = table.fields[dec.choice] if dec.choice is not None else None
        confidence = dec.confidence
        evidence: dict[str, Any] = {
            "normalised_name": prof.name_text,
            "value_kinds": {k: round(v, 2) for k, v in sorted(prof.kinds.items(), key=lambda kv: -kv[1])[:3]},
            "raw_probability": round(dec.raw, 4),
        }
        if dec.choice is not None:
            evidence["signals"] = {
                f: round(float(v), 4) for f, v in zip(FEATURES, table.features[i, dec.choice], strict=True)
            }
        top = prof.memory[0] if prof.memory else None
        if top is not None:
            evidence["memory"] = {
                "canonical_field": top.canonical_field,
                "similarity": round(top.similarity, 4),
                "source_field": top.source_field,
            }
            if top.canonical_field is None and top.similarity >= MEMORY_REJECTION_SIMILARITY:
                choice, confidence = None, max(confidence, min(top.similarity, 0.99))
                evidence["memory_rejection"] = True
        order = np.argsort(-dec.probabilities)
        alternatives = [
            (table.fields[j], round(float(dec.probabilities[j]), 4))
            for j in order[:MAX_CANDIDATES]
            if table.fields[j] != choice and dec.probabilities[j] >= 0.01
        ][: MAX_CANDIDATES - 1]
        decision: Decision
        if choice is None:
            decision = "unmapped"
        elif confidence >= self.auto_threshold:
            decision = "auto"
        else:
            decision = "review"
        return FieldSuggestion(prof.source.name, choice, round(float(confidence), 4), decision, alternatives, evidence)

    def _in_review_band(self, s: FieldSuggestion) -> bool:
        """Fields a person (or the LLM) should look at: mapped but unsure, or unsure that nothing matches."""
        if s.decision == "review":
            return True
        plausible = any(score >= REVIEW_ALTERNATIVE for _, score in s.alternatives)
        return s.decision == "unmapped" and s.confidence < self.auto_threshold and plausible

    @staticmethod
    def _coverage(table: _Table) -> float:
        """Share of fields whose best memory match is more similar than RAG_SIMILARITY."""
        if not table.profiles:
            return 0.0
        covered = sum(1 for p in table.profiles if p.memory and p.memory[0].similarity > RAG_SIMILARITY)
        return covered / len(table.profiles)

    def _emit_coverage(self, result: MappingSuggestion, tenant_id: str | None, review: int, skip: bool) -> None:
        payload = {
            "tenant_id": tenant_id,
            "entity": result.entity,
            "coverage": round(result.coverage, 4),
            "fields_total": len(result.fields),
            "fields_covered": round(result.coverage * len(result.fields)),
            "recommendation": "skip_llm" if skip else "proceed",
            "llm_configured": self.advisor is not None,
            "llm_calls_saved": result.llm_calls_saved,
            "estimated_llm_cost_saved_usd": round(result.llm_calls_saved * ESTIMATED_USD_PER_LLM_CALL, 6),
            "review_fields": review,
        }
        if self.event_sink is None:
            logger.info("rag_coverage_check %s", payload)
            return
        try:
            self.event_sink("rag_coverage_check", payload)
        except Exception:
            logger.warning("event sink failed for rag_coverage_check", exc_info=True)

    def _advise(self, result: MappingSuggestion, table: _Table, i: int, tenant_id: str | None) -> None:
        """Let the advisor re-rank one review-band field; its confidence never exceeds the calibrated cap."""
        assert self.advisor is not None
        current = result.fields[i]
        taken = {f.canonical_field for k, f in enumerate(result.fields) if k != i and f.canonical_field}
        order = np.argsort(-table.decided[i].probabilities)
        candidates = [table.fields[j] for j in order if table.fields[j] not in taken][:MAX_CANDIDATES]
        prof = table.profiles[i]
        profile = {
            "name": prof.source.name,
            "normalised_name": prof.name_text,
            "type": prof.source.type.value,
            "sample_values": [str(v)[:80] for v in prof.source.sample_values[:10]],
            "value_kinds": current.evidence.get("value_kinds", {}),
        }
        result.llm_calls += 1
        answer = ask_advisor(
            self.advisor,
            entity=result.entity,
            field_profile=profile,
            candidates=candidates,
            tenant_id=tenant_id,
            timeout=self.advisor_timeout,
        )
        if answer is None:
            return
        cap = min(self.params.llm_confidence_cap, self.auto_threshold - 1e-4)
        agreed = answer.canonical_field == current.canonical_field
        confidence = max(current.confidence, answer.confidence) if agreed else answer.confidence
        current.canonical_field = answer.canonical_field
        current.confidence = round(float(min(cap, confidence)), 4)
        current.decision = "unmapped" if answer.canonical_field is None else "review"
        current.evidence["llm"] = {"choice": answer.canonical_field, "confidence": answer.confidence}
