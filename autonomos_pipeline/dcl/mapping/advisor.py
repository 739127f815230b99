"""Calling an optional LLM advisor safely: bounded time, validated answer, any failure means no answer."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from autonomos_pipeline.dcl.mapping.types import LLMAdvisor, LLMChoice

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 5
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mapping-llm")


def ask_advisor(
    advisor: LLMAdvisor,
    *,
    entity: str,
    field_profile: dict[str, Any],
    candidates: list[str],
    tenant_id: str | None,
    timeout: float,
) -> LLMChoice | None:
    """Ask the advisor; return None on error, timeout or an answer outside the candidate list."""
    candidates = candidates[:MAX_CANDIDATES]
    future = _EXECUTOR.submit(
        advisor.choose, entity=entity, field_profile=field_profile, candidates=candidates, tenant_id=tenant_id
    )
    try:
        answer = future.result(timeout=timeout)
    except FutureTimeout:
        logger.warning("LLM advisor timed out after %.1fs for %s; using the engine's result", timeout, entity)
        return None
    except Exception:
        logger.warning("LLM advisor failed for %s; using the engine's result", entity, exc_info=True)
        return None
    if answer is None:
        return None
    if not isinstance(answer, LLMChoice):
        logger.warning("LLM advisor returned %r, not an LLMChoice; ignored", type(answer).__name__)
        return None
    if answer.canonical_field is not None and answer.canonical_field not in candidates:
        logger.warning("LLM advisor chose %r outside its candidates; ignored", answer.canonical_field)
        return None
    if not 0.0 <= float(answer.confidence) <= 1.0:
        logger.warning("LLM advisor confidence %r outside [0, 1]; ignored", answer.confidence)
        return None
    return answer
