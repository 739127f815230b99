"""LLM advisor on any OpenAI-compatible chat completions endpoint (OpenAI, Azure OpenAI v1, vLLM, Ollama)."""

from __future__ import annotations

import openai

from autonomos_pipeline.dcl.llm.advisor import ChatAdvisor, Completion
from autonomos_pipeline.dcl.llm.exceptions import LLMError, LLMTimeoutError, TerminalLLMError, TransientLLMError
from autonomos_pipeline.dcl.llm.telemetry import LLMTelemetry

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
_TRANSIENT_STATUS = frozenset({408, 409, 429})


class OpenAIAdvisor(ChatAdvisor):
    """Asks `POST {base_url}/chat/completions` with response_format json_object through the openai client."""

    provider = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_OPENAI_MODEL,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        temperature: float | None = 0.0,
        telemetry: LLMTelemetry | None = None,
        retry_backoff_seconds: float = 0.5,
    ) -> None:
        super().__init__(
            model=model,
            timeout_seconds=timeout_seconds,
            telemetry=telemetry,
            retry_backoff_seconds=retry_backoff_seconds,
        )
        self.temperature = temperature
        # max_retries=0: the advisor owns the (single) retry, so a rate-limited endpoint is not hammered.
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0)

    def _complete(self, system_prompt: str, user_prompt: str) -> Completion:
        """One chat completion; SDK errors become LLMError subclasses."""
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system_prompt},
                    {"role": "user", "content": user_prompt},
                ],
                response_format={"type": "json_object"},
                temperature=openai.omit if self.temperature is None else self.temperature,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc) from exc
        text = response.choices[0].message.content if response.choices else None
        tokens = response.usage.total_tokens if response.usage is not None else 0
        return Completion(text=text, total_tokens=tokens or 0)


def _translate(exc: openai.OpenAIError) -> LLMError:
    """Sort an openai error into timeout, transient (retry once) or terminal."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return TransientLLMError(str(exc))
    if isinstance(exc, openai.APIStatusError):
        message = f"HTTP {exc.status_code}: {exc.message}"[:300]
        if exc.status_code in _TRANSIENT_STATUS or exc.status_code >= 500:
            return TransientLLMError(message)
        return TerminalLLMError(message)
    return TerminalLLMError(str(exc)[:300])
