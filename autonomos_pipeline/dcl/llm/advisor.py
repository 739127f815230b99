"""Shared behaviour of the provider advisors: one question, at most one retry, strict answer, usage counted."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from autonomos_pipeline.dcl.llm.base import LLMChoice
from autonomos_pipeline.dcl.llm.exceptions import InvalidAnswerError, LLMError, TransientLLMError
from autonomos_pipeline.dcl.llm.prompt import SYSTEM_PROMPT, build_user_prompt, offered_candidates, parse_answer
from autonomos_pipeline.dcl.llm.telemetry import LLMTelemetry, get_telemetry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    """The raw text a provider answered and the tokens it billed."""

    text: str | None
    total_tokens: int


class ChatAdvisor(ABC):
    """Implements LLMAdvisor.choose on top of one provider call, `_complete`."""

    provider: str = "llm"

    def __init__(
        self,
        *,
        model: str,
        timeout_seconds: float,
        telemetry: LLMTelemetry | None = None,
        retry_backoff_seconds: float = 0.5,
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.retry_backoff_seconds = retry_backoff_seconds
        self.telemetry = telemetry if telemetry is not None else get_telemetry()

    @abstractmethod
    def _complete(self, system_prompt: str, user_prompt: str) -> Completion:
        """Ask the provider once; raise TransientLLMError, LLMTimeoutError or TerminalLLMError on failure."""

    def choose(
        self,
        *,
        entity: str,
        field_profile: dict[str, Any],
        candidates: list[str],
        tenant_id: str | None,
    ) -> LLMChoice | None:
        """Ask which candidate the field is; None when there is nothing to ask or the LLM failed."""
        offered = offered_candidates(candidates)
        if not offered:
            return None
        user_prompt = build_user_prompt(entity, field_profile, offered)
        context = {"provider": self.provider, "model": self.model, "tenant_id": tenant_id, "entity": entity}
        try:
            completion = self._complete_with_one_retry(user_prompt, context)
            self.telemetry.record_call(tenant_id, completion.total_tokens)
            return parse_answer(completion.text, offered)
        except InvalidAnswerError as exc:
            logger.warning("llm answer rejected", extra={**context, "error": str(exc)})
        except LLMError as exc:
            logger.warning("llm call failed", extra={**context, "error": type(exc).__name__, "detail": str(exc)})
        except Exception:  # the contract is "None on failure": an unexpected SDK error must not break mapping
            logger.warning("llm call failed unexpectedly", extra=context, exc_info=True)
        return None

    def _complete_with_one_retry(self, user_prompt: str, context: dict[str, Any]) -> Completion:
        try:
            return self._complete(SYSTEM_PROMPT, user_prompt)
        except TransientLLMError as exc:
            logger.info(
                "llm call failed, retrying once",
                extra={**context, "error": type(exc).__name__, "detail": str(exc)},
            )
            time.sleep(self.retry_backoff_seconds)
            return self._complete(SYSTEM_PROMPT, user_prompt)
