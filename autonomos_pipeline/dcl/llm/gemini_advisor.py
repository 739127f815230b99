"""LLM advisor on Gemini's generateContent through the google-genai client, answering JSON."""

from __future__ import annotations

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from autonomos_pipeline.dcl.llm.advisor import ChatAdvisor, Completion
from autonomos_pipeline.dcl.llm.exceptions import LLMError, LLMTimeoutError, TerminalLLMError, TransientLLMError
from autonomos_pipeline.dcl.llm.telemetry import LLMTelemetry

DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"
DEFAULT_GEMINI_API_VERSION = "v1beta"
_TRANSIENT_STATUS = frozenset({408, 409, 429})


class GeminiAdvisor(ChatAdvisor):
    """Asks `POST {base_url}/{api_version}/models/{model}:generateContent` with response_mime_type JSON."""

    provider = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_GEMINI_MODEL,
        base_url: str | None = None,
        api_version: str = DEFAULT_GEMINI_API_VERSION,
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
        # timeout is in milliseconds; no retry_options means one attempt per call (the advisor owns the retry).
        http_options = types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            timeout=max(1, round(timeout_seconds * 1000)),
        )
        self._client = genai.Client(api_key=api_key, http_options=http_options)

    def _complete(self, system_prompt: str, user_prompt: str) -> Completion:
        """One generateContent call; SDK and transport errors become LLMError subclasses."""
        config = types.GenerateContentConfig(
            system_instruction=system_prompt,
            response_mime_type="application/json",
            temperature=self.temperature,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        try:
            response = self._client.models.generate_content(model=self.model, contents=user_prompt, config=config)
        except genai_errors.APIError as exc:
            raise _translate_status(exc) from exc
        except Exception as exc:
            translated = _translate_transport(exc)
            if translated is None:
                raise
            raise translated from exc
        usage = response.usage_metadata
        tokens = (usage.total_token_count or 0) if usage is not None else 0
        return Completion(text=response.text, total_tokens=tokens)


def _translate_status(exc: genai_errors.APIError) -> LLMError:
    """Sort an HTTP error answer into transient (retry once) or terminal."""
    message = f"HTTP {exc.code}: {exc.status or ''} {exc.message or ''}".strip()[:300]
    if exc.code in _TRANSIENT_STATUS or exc.code >= 500:
        return TransientLLMError(message)
    return TerminalLLMError(message)


def _translate_transport(exc: Exception) -> LLMError | None:
    """Timeouts and connection failures raised by the client's HTTP stack (httpx or its successor)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, TimeoutError) or "TimeoutException" in names:
        return LLMTimeoutError(type(exc).__name__)
    if isinstance(exc, ConnectionError) or names & {"TransportError", "NetworkError"}:
        return TransientLLMError(f"{type(exc).__name__}: {exc}"[:300])
    return None
