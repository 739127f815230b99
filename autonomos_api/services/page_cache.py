"""Process-local view pages and token acceptances, each valid only under the version it was made at.

A page is the exact response a views route gave for (tenant, path, query) while the tenant's data version was V; it
may be served again only while the version is still V. An acceptance records that a views route found the token's
user active and the token unrevoked while the user's auth version was A; it stands only while the version is still
A. The versions come from Redis (see version_fence.py), so a bump by any process retires what every process holds.
"""

from __future__ import annotations

import gzip
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autonomos_pipeline.dcl.view_cache import ACCEPTANCE_TTL_SECONDS, TOTAL_TTL_SECONDS

__all__ = ["CachedPage", "PageCache", "PageKey"]

PageKey = tuple[str, str, bytes]  # (tenant id, path, raw query string)
Headers = list[tuple[bytes, bytes]]


GZIP_MIN_BYTES = 1024  # smaller bodies are sent as they are


@dataclass(frozen=True)
class CachedPage:
    """One response of a views route (as sent, and gzip-compressed once for clients that accept it) and the
    `viewed` event payload (without the reader) that serving it records."""

    data_version: str
    headers: Headers
    body: bytes
    gzip_headers: Headers | None
    gzip_body: bytes | None
    event: dict[str, Any]
    stored_at: float

    @property
    def size(self) -> int:
        """Bytes this entry is charged for."""
        return len(self.body) + len(self.gzip_body or b"") + 1024


def _gzip_variant(headers: Headers, body: bytes) -> tuple[Headers | None, bytes | None]:
    """The response's headers and body gzip-compressed, or (None, None) when the body is small or already encoded."""
    if len(body) < GZIP_MIN_BYTES or any(name == b"content-encoding" for name, _ in headers):
        return None, None
    compressed = gzip.compress(body, compresslevel=6, mtime=0)
    kept = [(name, value) for name, value in headers if name != b"content-length"]
    return [*kept, (b"content-encoding", b"gzip"), (b"content-length", str(len(compressed)).encode())], compressed


class PageCache:
    """Least recently used pages up to max_bytes, expiring after ttl_seconds, and acceptances of tokens up to
    max_tokens, expiring after acceptance_ttl_seconds (a safety net for a failed auth-version bump)."""

    def __init__(
        self,
        max_bytes: int,
        *,
        max_tokens: int = 100_000,
        ttl_seconds: float = TOTAL_TTL_SECONDS,
        acceptance_ttl_seconds: float = ACCEPTANCE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_tokens = max_tokens
        self.ttl_seconds = ttl_seconds
        self.acceptance_ttl_seconds = acceptance_ttl_seconds
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
        if page is None or page.data_version != data_version or self._expired(page.stored_at, self.ttl_seconds):
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return page

    def store(self, key: PageKey, data_version: str, headers: Headers, body: bytes, event: dict[str, Any]) -> None:
        """Keep a page for key (replacing an older one), then evict the least recently used beyond max_bytes."""
        gzip_headers, gzip_body = _gzip_variant(headers, body)
        page = CachedPage(data_version, headers, body, gzip_headers, gzip_body, event, self.clock())
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
        if entry is None or entry[0] != auth_version:
            return False
        return not self._expired(entry[1], self.acceptance_ttl_seconds)

    def accept(self, jti: str, auth_version: str) -> None:
        """Remember that the token was accepted at auth_version."""
        if len(self._accepted) >= self.max_tokens:
            self._accepted.clear()
        self._accepted[jti] = (auth_version, self.clock())

    def _expired(self, stored_at: float, ttl_seconds: float) -> bool:
        return self.clock() - stored_at > ttl_seconds
