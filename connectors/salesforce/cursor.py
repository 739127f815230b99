"""The Salesforce cursor: the last SystemModstamp handed out and the record Ids already handed out at it.

SOQL datetime literals have whole seconds, so a read asks for `SystemModstamp >= <cursor second>` and drops
what it already returned client-side: records older than the cursor stamp, and those at the exact stamp whose
Ids are listed. No record sharing a stamp is lost, and none depends on how Salesforce orders Ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from connectors.exceptions import TerminalConnectorError
from connectors.salesforce.types import parse_datetime

__all__ = ["ModstampCursor"]


@dataclass(frozen=True)
class ModstampCursor:
    """Position in a SystemModstamp-ordered read."""

    stamp: str
    ids: tuple[str, ...]

    @classmethod
    def load(cls, cursor: str | None) -> ModstampCursor | None:
        """Parse a cursor string; None means read everything."""
        if cursor is None:
            return None
        try:
            data = json.loads(cursor)
            parse_datetime(data["systemmodstamp"])
            return cls(data["systemmodstamp"], tuple(data["ids"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise TerminalConnectorError(f"not a Salesforce cursor: {cursor[:200]!r}") from exc

    def dump(self) -> str:
        """The cursor as a JSON string."""
        return json.dumps({"systemmodstamp": self.stamp, "ids": list(self.ids)}, separators=(",", ":"))

    def soql_literal(self) -> str:
        """The cursor stamp floored to its second, as a SOQL datetime literal."""
        return parse_datetime(self.stamp).strftime("%Y-%m-%dT%H:%M:%SZ")

    def already_read(self, stamp: str, record_id: str) -> bool:
        """Whether a record returned by the >= query was handed out before."""
        ours, theirs = parse_datetime(self.stamp), parse_datetime(stamp)
        return theirs < ours or (theirs == ours and record_id in self.ids)

    def advance(self, stamp: str, record_id: str) -> ModstampCursor:
        """The position after also handing out this record (records arrive in stamp order)."""
        if parse_datetime(stamp) == parse_datetime(self.stamp):
            return ModstampCursor(self.stamp, (*self.ids, record_id))
        return ModstampCursor(stamp, (record_id,))
