"""Flatten nested documents to dot-path fields (`hq.address.city`) with one deliberate rule for arrays.

Rule: nested objects become dot paths down to their scalars; an array is kept whole as one field (type ARRAY,
stored as its JSON text) whether it holds scalars or documents, because array positions are not stable field
names. An empty object is kept as one field (type OBJECT, JSON text `{}`), so no key disappears.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["flatten"]


def _convert_deep(value: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _convert_deep(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_convert_deep(v, convert) for v in value]
    return convert(value)


def flatten(
    document: Mapping[str, Any], convert: Callable[[Any], Any] = lambda v: v, prefix: str = ""
) -> dict[str, Any]:
    """Return {dot.path: value}; `convert` maps driver-specific scalars (ObjectId, Decimal128) to plain ones."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, convert, f"{path}."))
        elif isinstance(value, Mapping):
            flat[path] = {}
        elif isinstance(value, list | tuple):
            flat[path] = [_convert_deep(v, convert) for v in value]
        else:
            flat[path] = convert(value)
    return flat
