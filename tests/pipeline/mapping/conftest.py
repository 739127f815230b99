"""Fixtures for mapping tests: the real embedding model, loaded once per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autonomos_pipeline.dcl.mapping import MappingEngine, NumpyMemory, SentenceTransformerEmbedder
from schemas.source_schema import SourceField, SourceSchema


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2 model (loaded once; the module cache keeps it)."""
    emb = SentenceTransformerEmbedder()
    emb.encode(["warm up"])
    return emb


@pytest.fixture
def engine(embedder: SentenceTransformerEmbedder) -> MappingEngine:
    """An engine with an empty in-memory memory and no LLM."""
    return MappingEngine(embedder=embedder, memory=NumpyMemory())


@pytest.fixture
def make_schema() -> Callable[..., SourceSchema]:
    """Build a SourceSchema from (name, sample values) pairs."""

    def build(*fields: tuple[str, list[Any]]) -> SourceSchema:
        return SourceSchema(stream="t", fields=[SourceField(name=n, sample_values=v) for n, v in fields])

    return build
