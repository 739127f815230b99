"""LLM usage counters of a tenant."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LLMStatsPublic(BaseModel):
    """How much the mapping engine used the LLM for this tenant, and how many calls retrieval memory saved."""

    calls: int = Field(description="answered LLM calls")
    tokens: int = Field(description="tokens those calls used")
    calls_saved: int = Field(description="calls skipped because retrieval memory covered the fields")
