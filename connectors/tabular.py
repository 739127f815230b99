"""Turn lists of row dicts into Arrow tables, one column per field, keeping values JSON-safe and lossless."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from connectors.values import json_text

__all__ = ["rows_to_table", "string_table"]


def _column(values: list[Any]) -> pa.Array:
    """One column: native when every value shares a kind (ints and floats mix as floats), else JSON text."""
    cells = [json_text(v) for v in values]
    kinds = {type(c) for c in cells if c is not None}
    if kinds <= {int, float} and kinds:
        try:
            return pa.array(cells, type=pa.float64() if float in kinds else pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            pass
    elif len(kinds) == 1 and kinds != {str}:
        return pa.array(cells)
    return pa.array(
        [c if c is None or isinstance(c, str) else json.dumps(c) for c in cells],
        type=pa.string(),
    )


def rows_to_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> pa.Table:
    """Build a table from rows of (possibly ragged) dicts; columns default to the keys in first-seen order.

    Columns of a single JSON kind keep it (int64, float64, bool, string); a column mixing kinds holds the
    JSON text of each value, so nothing is coerced silently. Containers become their JSON text.
    """
    names = list(columns) if columns is not None else list(dict.fromkeys(k for row in rows for k in row))
    arrays = [_column([row.get(name) for row in rows]) for name in names]
    return pa.table(
        [a if a.type != pa.null() else a.cast(pa.string()) for a in arrays],
        names=names,
    )


def string_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.Table:
    """Build an all-string table from row tuples aligned with columns (raw text sources such as CSV)."""
    data = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pa.table([pa.array(col, type=pa.string()) for col in data], names=list(columns))
