"""Null-like detection and the plain-text normalisers: free strings and opportunity status."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from schemas.canonical import OpportunityStatus
from schemas.normalize.errors import NormalisationError

__all__ = ["NULL_LIKE", "is_null_like", "normalize_status", "normalize_str"]

#: Strings (compared stripped and case-insensitively) that exports write for "no value". Deliberately small:
#: "na" is Namibia's country code and "nan" is left to the numeric normalisers, which reject it.
NULL_LIKE: frozenset[str] = frozenset({"", "null", "none", "nil", "n/a", "#n/a", "-"})


def is_null_like(value: object) -> bool:
    """Return True for None and for strings in NULL_LIKE (after stripping, case-insensitively)."""
    if value is None:
        return True
    return isinstance(value, str) and value.strip().casefold() in NULL_LIKE


def normalize_str(value: object, *, field: str | None = None) -> str | None:
    """Strip and collapse internal whitespace; numbers become their text (integral floats without ".0")."""
    if is_null_like(value):
        return None
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, bool):
        raise NormalisationError(field, value, "not_text", "a boolean is not text")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NormalisationError(field, value, "not_text", "a non-finite float is not text")
        return str(int(value)) if value.is_integer() else str(value)
    raise NormalisationError(field, value, "not_text", f"expected text, got {type(value).__name__}")


_STATUS_WORDS: dict[str, OpportunityStatus] = {
    **dict.fromkeys(
        ["open", "in progress", "inprogress", "active", "pending", "new", "ongoing"], OpportunityStatus.OPEN
    ),
    **dict.fromkeys(["won", "win", "closed won", "closedwon", "won closed"], OpportunityStatus.WON),
    **dict.fromkeys(["lost", "loss", "closed lost", "closedlost", "lost closed"], OpportunityStatus.LOST),
}
_NON_LETTERS = re.compile(r"[^a-z]+")


def normalize_status(value: object, *, field: str | None = None) -> OpportunityStatus | None:
    """Map status text ("Closed Won", "closed-lost", "In Progress") onto open / won / lost.

    A bare "closed" says neither won nor lost and is rejected as "ambiguous_status"; anything else unknown is
    "unknown_status". Booleans such as IsWon/IsClosed need two fields and are not inferred here.
    """
    if is_null_like(value):
        return None
    if not isinstance(value, str):
        raise NormalisationError(field, value, "unknown_status", "opportunity status must be text")
    key = _NON_LETTERS.sub(" ", value.casefold()).strip()
    if key in _STATUS_WORDS:
        return _STATUS_WORDS[key]
    if key == "closed":
        raise NormalisationError(field, value, "ambiguous_status", "'closed' does not say whether won or lost")
    raise NormalisationError(field, value, "unknown_status", f"unknown opportunity status {value!r}")
