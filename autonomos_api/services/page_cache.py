"""Process-local view pages and token acceptances, each valid only under the version it was made at.

A page is the exact response a views route gave for (tenant, path, query) while the tenant's data version was V; it
may be served again only while the version is still V. An acceptance records that a views route found the token's
user active and the token unrevoked while the user's auth version was A; it stands only while the version is still
A. The versions come from Redis (see version_fence.py), so a bump by any process retires what every process holds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autonomos_pipeline.dcl.view_cache import TOTAL_TTL_SECONDS

__all__ = ["CachedPage", "PageCache", "PageKey"]

PageKey = tuple[str, str, bytes]  # (tenant id, path, raw query string)


@dataclass(frozen=True)
class CachedPage:
    """One response of a views route and the `viewed` event payload (without the reader) that serving it records."""

    data_version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    event: dict[str, Any]
    stored_at: float

    @property
    def size(self) -> int:
        """Bytes this entry is charged for."""
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers) + 256


class PageCache:
    """Least recently used pages up to max_bytes, and acceptances up to max_tokens; both expire after ttl_seconds."""

    def __init__(
        self,
        max_bytes: int,
        *,
        max_tokens: int = 100_000,
        ttl_seconds: float = TOTAL_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_tokens = max_tokens
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._pages: OrderedDict[PageKey, CachedPage] = OrderedDict()
        self._accepted: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    def page(self, key: PageKey, data_version: str) -> CachedPage | None:
        """The page stored for key at data_version and not expired, else None."""
        page = self._pages.get(key)
        if page is None or page.data_version != data_version or self._expired(page.stored_at):
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return page

    def store(
        self, key: PageKey, data_version: str, headers: list[tuple[bytes, bytes]], body: bytes, event: dict[str, Any]
    ) -> None:
        """Keep a page for key (replacing an older one), then evict the least recently used beyond max_bytes."""
        page = CachedPage(data_version, headers, body, event, self.clock())
        if page.size > self.max_bytes:
            return
        old = self._pages.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._pages[key] = page
        self.bytes += page.size
        while self.bytes > self.max_bytes:
            _, evicted = self._pages.popitem(last=False)
            self.bytes -= evicted.size

    def accepted(self, jti: str, auth_version: str) -> bool:
        """Whether a views route accepted this token while its user's auth version was auth_version, recently."""
        entry = self._accepted.get(jti)
        return entry is not None and entry[0] == auth_version and not self._expired(entry[1])

    def accept(self, jti: str, auth_version: str) -> None:
        """Remember that the token was accepted at auth_version."""
        if len(self._accepted) >= self.max_tokens:
            self._accepted.clear()
        self._accepted[jti] = (auth_version, self.clock())

    def _expired(self, stored_at: float) -> bool:
        return self.clock() - stored_at > self.ttl_seconds
