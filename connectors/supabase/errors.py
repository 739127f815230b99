"""Sort PostgreSQL driver errors into transient (retry) and terminal (needs a person) connector errors."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from connectors.exceptions import ConnectorError, TerminalConnectorError, TransientConnectorError

__all__ = ["classify"]

_TERMINAL_MARKERS = (
    "password authentication failed",
    'role "',
    "does not exist",
    "no pg_hba.conf entry",
    "authentication",
    "permission denied",
    "invalid dsn",
)


def classify(error: DBAPIError, action: str) -> ConnectorError:
    """A connector error whose reason names the action and PostgreSQL's own first message line."""
    message = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    reason = f"PostgreSQL: {action} failed: {message}"
    lowered = message.lower()
    if any(marker in lowered for marker in _TERMINAL_MARKERS):
        return TerminalConnectorError(reason)
    if isinstance(error, OperationalError) or error.connection_invalidated:
        return TransientConnectorError(reason)
    return TerminalConnectorError(reason)
