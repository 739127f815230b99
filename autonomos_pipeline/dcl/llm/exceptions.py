"""Failures of an LLM call: transient ones are retried once, terminal ones and bad answers are not."""

from __future__ import annotations


class LLMError(Exception):
    """Base of every LLM failure; advisors catch it and fall back to the result without the LLM."""


class TransientLLMError(LLMError):
    """The provider may succeed if asked again shortly: rate limit (429), server error (5xx), connection error."""


class LLMTimeoutError(LLMError):
    """The provider did not answer within the configured timeout; not retried (the budget is already spent)."""


class TerminalLLMError(LLMError):
    """Asking again cannot help: authentication, unknown model, bad request."""


class InvalidAnswerError(LLMError):
    """The provider answered, but not with the strict JSON over the offered candidates."""
