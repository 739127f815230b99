"""What the mapping engine asks of an LLM: an advisor that picks one of a few candidate canonical fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LLMChoice:
    """The advisor's pick: a canonical field (None: no candidate fits), its confidence and a short reason."""

    canonical_field: str | None
    confidence: float
    reason: str = ""


class LLMAdvisor(Protocol):
    """Picks the canonical field for one source field among at most five candidates."""

    def choose(
        self,
        *,
        entity: str,
        field_profile: dict[str, Any],
        candidates: list[str],
        tenant_id: str | None,
    ) -> LLMChoice | None:
        """Return the choice, or None when the LLM is unavailable or failed (the caller falls back)."""
        ...
