"""The error every normaliser raises for a rejected value: machine-readable (field, value, reason) plus a message."""

from __future__ import annotations

from typing import Any

__all__ = ["NormalisationError"]


class NormalisationError(ValueError):
    """A source value that cannot be normalised; `reason` is a stable short code such as "invalid_email"."""

    def __init__(self, field: str | None, value: object, reason: str, message: str | None = None) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.message = message or reason.replace("_", " ")
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return f"{prefix}{self.message} ({self.reason}; value={self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.value, self.reason, self.message))

    def as_dict(self) -> dict[str, str | None]:
        """Return the error as a JSON-safe dict with keys field, value, reason and message."""
        value = None if self.value is None else str(self.value)
        return {"field": self.field, "value": value, "reason": self.reason, "message": self.message}
