"""Pairwise evidence between every source field and every canonical field of an entity, as a feature tensor."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from autonomos_pipeline.dcl.mapping.lexicon import aliases, description_text
from autonomos_pipeline.dcl.mapping.text import normalise
from autonomos_pipeline.dcl.mapping.types import Embedder, MemoryHit
from autonomos_pipeline.dcl.mapping.values import profile_values, value_evidence
from schemas.canonical import canonical_fields
from schemas.source_schema import SourceField

FEATURES: tuple[str, ...] = (
    "exact_alias",
    "fuzzy_name",
    "token_overlap",
    "embed_name",
    "embed_profile",
    "value_match",
    "value_conflict",
    "embed_name_margin",
    "fuzzy_name_margin",
    "lexical_x_value",
)

_CACHE_LOCK = threading.Lock()
_CANONICAL_CACHE: dict[tuple[Any, str], CanonicalVectors] = {}


@dataclass(frozen=True)
class CanonicalVectors:
    """Embeddings of one entity's canonical fields: every alias, and the description prose."""

    fields: list[str]
    alias_vectors: list[np.ndarray]  # per field: [n_aliases, dim]
    description_vectors: np.ndarray  # [n_fields, dim]


@dataclass
class FieldProfile:
    """What the engine knows about one source field before comparing it with canonical fields."""

    source: SourceField
    name_text: str
    profile_text: str
    kinds: dict[str, float]
    memory: list[MemoryHit] = field(default_factory=list)


def canonical_vectors(embedder: Embedder, entity: str) -> CanonicalVectors:
    """Embed canonical aliases and descriptions once per (embedder, entity) and process."""
    key = (getattr(embedder, "cache_key", id(embedder)), entity)
    with _CACHE_LOCK:
        cached = _CANONICAL_CACHE.get(key)
    if cached is not None:
        return cached
    names = canonical_fields(entity)
    table = aliases(entity)
    texts = [a for f in names for a in table[f]]
    encode = getattr(embedder, "encode_constant", embedder.encode)  # kept across processes where it can be
    vectors = encode(texts + [description_text(entity, f) for f in names])
    per_field: list[np.ndarray] = []
    start = 0
    for f in names:
        per_field.append(vectors[start : start + len(table[f])])
        start += len(table[f])
    built = CanonicalVectors(names, per_field, vectors[start:])
    with _CACHE_LOCK:
        _CANONICAL_CACHE[key] = built
    return built


def profile_field(source: SourceField, max_values: int = 20) -> FieldProfile:
    """Normalise a field's name and summarise its sample values."""
    values = [v for v in source.sample_values if v is not None and str(v).strip() != ""][:max_values]
    name_text = normalise(source.name) or source.name.lower()
    shown = ", ".join(str(v)[:40] for v in values[:5])
    profile_text = f"{name_text} ({source.type.value}): {shown}" if shown else f"{name_text} ({source.type.value})"
    return FieldProfile(source, name_text, profile_text, profile_values(values, source.type))


def _lexical(name: str, alias_list: list[str]) -> tuple[float, float, float]:
    """(exact, fuzzy, token overlap) of a normalised name against normalised aliases."""
    if not alias_list:
        return 0.0, 0.0, 0.0
    tokens = set(name.split())
    exact = 1.0 if name in alias_list else 0.0
    fuzzy = max(max(fuzz.ratio(name, a), fuzz.token_sort_ratio(name, a)) for a in alias_list) / 100.0
    overlap = max(len(tokens & set(a.split())) / max(1, len(tokens | set(a.split()))) for a in alias_list)
    return exact, fuzzy, overlap


def _margin(values: np.ndarray) -> np.ndarray:
    """Per row: each value minus the best other value in the row."""
    if values.shape[1] < 2:
        return np.zeros_like(values)
    order = np.sort(values, axis=1)
    best, second = order[:, -1:], order[:, -2:-1]
    return np.where(values >= best, values - second, values - best)


def feature_tensor(
    profiles: list[FieldProfile],
    name_vectors: np.ndarray,
    profile_vectors: np.ndarray,
    canon: CanonicalVectors,
    entity: str,
) -> np.ndarray:
    """Return X[n_source, n_canonical, len(FEATURES)]."""
    table = aliases(entity)
    n, m = len(profiles), len(canon.fields)
    x = np.zeros((n, m, len(FEATURES)), dtype=np.float64)
    for j, cf in enumerate(canon.fields):
        alias_sims = name_vectors @ canon.alias_vectors[j].T if n else np.zeros((0, 1))
        for i, prof in enumerate(profiles):
            learned = [h for h in prof.memory if h.canonical_field == cf]
            alias_list = list(table[cf]) + [normalise(h.source_field) for h in learned]
            exact, fuzzy, overlap = _lexical(prof.name_text, alias_list)
            emb = float(alias_sims[i].max()) if alias_sims.shape[1] else 0.0
            if learned:
                emb = max(emb, max(h.similarity for h in learned))
            match, conflict = value_evidence(prof.kinds, cf)
            x[i, j, 0:7] = (exact, fuzzy, overlap, emb, 0.0, match, conflict)
    if n:
        x[:, :, 4] = profile_vectors @ canon.description_vectors.T
        x[:, :, 7] = _margin(x[:, :, 3])
        x[:, :, 8] = _margin(x[:, :, 1])
        x[:, :, 9] = np.maximum(x[:, :, 0], x[:, :, 1]) * (x[:, :, 5] - x[:, :, 6])
    return x
