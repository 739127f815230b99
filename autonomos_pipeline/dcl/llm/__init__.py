"""Optional LLM advice for fields in the review band (OpenAI-compatible or Gemini) and its usage counters."""

from autonomos_pipeline.dcl.llm.advisor import ChatAdvisor, Completion
from autonomos_pipeline.dcl.llm.base import LLMAdvisor, LLMChoice
from autonomos_pipeline.dcl.llm.exceptions import (
    InvalidAnswerError,
    LLMError,
    LLMTimeoutError,
    TerminalLLMError,
    TransientLLMError,
)
from autonomos_pipeline.dcl.llm.factory import build_advisor
from autonomos_pipeline.dcl.llm.gemini_advisor import GeminiAdvisor
from autonomos_pipeline.dcl.llm.openai_advisor import OpenAIAdvisor
from autonomos_pipeline.dcl.llm.prompt import MAX_CANDIDATES, LLMAnswer
from autonomos_pipeline.dcl.llm.telemetry import (
    CALLS,
    CALLS_SAVED,
    TOKENS,
    CounterBackend,
    FileCounters,
    LLMTelemetry,
    RedisCounters,
    counter_key,
    get_telemetry,
)

__all__ = [
    "CALLS",
    "CALLS_SAVED",
    "MAX_CANDIDATES",
    "TOKENS",
    "ChatAdvisor",
    "Completion",
    "CounterBackend",
    "FileCounters",
    "GeminiAdvisor",
    "InvalidAnswerError",
    "LLMAdvisor",
    "LLMAnswer",
    "LLMChoice",
    "LLMError",
    "LLMTelemetry",
    "LLMTimeoutError",
    "OpenAIAdvisor",
    "RedisCounters",
    "TerminalLLMError",
    "TransientLLMError",
    "build_advisor",
    "counter_key",
    "get_telemetry",
]
