"""The mapping engine: source fields -> canonical fields with calibrated confidence, memory and an optional LLM."""

from autonomos_pipeline.dcl.mapping.embedding import SentenceTransformerEmbedder
from autonomos_pipeline.dcl.mapping.engine import MappingEngine, default_memory
from autonomos_pipeline.dcl.mapping.memory import DuckDBMemory, NumpyMemory
from autonomos_pipeline.dcl.mapping.profiling import read_records, schema_from_records
from autonomos_pipeline.dcl.mapping.types import (
    Embedder,
    FieldSuggestion,
    LLMAdvisor,
    LLMChoice,
    MappingMemory,
    MappingSuggestion,
    MemoryHit,
)

__all__ = [
    "DuckDBMemory",
    "Embedder",
    "FieldSuggestion",
    "LLMAdvisor",
    "LLMChoice",
    "MappingEngine",
    "MappingMemory",
    "MappingSuggestion",
    "MemoryHit",
    "NumpyMemory",
    "SentenceTransformerEmbedder",
    "default_memory",
    "read_records",
    "schema_from_records",
]
