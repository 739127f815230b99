"""Build the configured LLM advisor from settings, or None when no LLM is configured."""

from __future__ import annotations

import logging

from autonomos_pipeline.dcl.llm.base import LLMAdvisor
from autonomos_pipeline.dcl.llm.gemini_advisor import DEFAULT_GEMINI_MODEL, GeminiAdvisor
from autonomos_pipeline.dcl.llm.openai_advisor import DEFAULT_OPENAI_MODEL, OpenAIAdvisor
from autonomos_pipeline.dcl.llm.telemetry import LLMTelemetry, get_telemetry
from autonomos_pipeline.dcl.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def build_advisor(settings: Settings | None = None, telemetry: LLMTelemetry | None = None) -> LLMAdvisor | None:
    """The advisor for AUTONOMOS_LLM_PROVIDER; None for "none" or when that provider's API key is missing."""
    settings = settings or get_settings()
    if settings.llm_provider == "none":
        return None
    if settings.llm_provider == "openai":
        if settings.openai_api_key is None:
            logger.warning("llm disabled: AUTONOMOS_OPENAI_API_KEY is not set", extra={"provider": "openai"})
            return None
        return OpenAIAdvisor(
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.llm_model or DEFAULT_OPENAI_MODEL,
            base_url=settings.openai_base_url,
            timeout_seconds=settings.llm_timeout_seconds,
            telemetry=telemetry or get_telemetry(settings),
        )
    if settings.gemini_api_key is None:
        logger.warning("llm disabled: AUTONOMOS_GEMINI_API_KEY is not set", extra={"provider": "gemini"})
        return None
    return GeminiAdvisor(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.llm_model or DEFAULT_GEMINI_MODEL,
        base_url=settings.gemini_base_url,
        timeout_seconds=settings.llm_timeout_seconds,
        telemetry=telemetry or get_telemetry(settings),
    )
