"""Connector error hierarchy: transient failures are worth retrying, terminal ones need a person."""

from __future__ import annotations

__all__ = ["ConnectorError", "TerminalConnectorError", "TransientConnectorError"]


class ConnectorError(Exception):
    """Base class of every error a connector raises; `reason` is a sentence for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientConnectorError(ConnectorError):
    """A failure that may succeed on retry: timeouts, rate limits (429), server errors (5xx), refused connections."""


class TerminalConnectorError(ConnectorError):
    """A failure retrying cannot fix: bad credentials, a missing table or collection, invalid configuration."""
