"""Per-tenant data versions and per-user auth versions in Redis, and the views' totals cached under a data version.

Whatever changes a tenant's materialized rows calls `bump_data_version` after its transaction commits; a total (or a
view page, see autonomos_api/services/page_cache.py) cached under an older version is never read again. A reader takes
the version before it counts, so a count is stored under a version no newer than the rows it saw. Whatever changes a
user's standing (logout, deactivation, role) calls `bump_auth_version` after its commit, retiring every remembered
acceptance of that user's tokens. Without Redis nothing is cached and every total is counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from typing import Any

import redis
from redis.exceptions import RedisError

from autonomos_pipeline.dcl.redis_client import get_redis

__all__ = [
    "ACCEPTANCE_TTL_SECONDS",
    "TOTAL_TTL_SECONDS",
    "TotalCache",
    "auth_version_key",
    "bump_auth_version",
    "bump_data_version",
    "data_version_key",
]

log = logging.getLogger(__name__)

# A safety net, not the invalidation: entries of a version that a failed bump left current expire after this.
TOTAL_TTL_SECONDS = 300
# The same for a page cache's acceptance of a token: shorter, as a failed auth bump leaves a revoked token working.
ACCEPTANCE_TTL_SECONDS = 60
# Pauses between attempts to bump a version (a bump follows a committed change: a transient failure must not win).
BUMP_RETRY_PAUSES = (0.05, 0.25)


def data_version_key(tenant_id: uuid.UUID | str) -> str:
    """The Redis key of a tenant's data version."""
    return f"autonomos:data_version:{tenant_id}"


def auth_version_key(user_id: uuid.UUID | str) -> str:
    """The Redis key of a user's auth version."""
    return f"autonomos:auth_version:{user_id}"


def _bump(key: str, what: str, client: redis.Redis | None) -> bool:
    """Set key to a fresh version, retrying a failing Redis briefly; False when it could not (logged)."""
    client = client if client is not None else get_redis()
    if client is None:
        return True  # nothing is cached without Redis
    error: RedisError | None = None
    for pause in (0.0, *BUMP_RETRY_PAUSES):
        if pause:
            time.sleep(pause)
        try:
            client.set(key, uuid.uuid4().hex)
            return True
        except RedisError as exc:
            error = exc
    log.error("could not bump the %s (%d attempts): %s", what, len(BUMP_RETRY_PAUSES) + 1, error)
    return False


def bump_data_version(tenant_id: uuid.UUID | str, client: redis.Redis | None = None) -> bool:
    """Give the tenant a new data version: call after a change to its materialized rows has committed.

    The version is a fresh random token (not a counter), so it never repeats even if Redis lost the key. A failing
    Redis is retried briefly, then logged (False); totals and pages cached before it live at most TOTAL_TTL_SECONDS.
    """
    return _bump(data_version_key(tenant_id), f"data version of tenant {tenant_id}", client)


def bump_auth_version(user_id: uuid.UUID | str, client: redis.Redis | None = None) -> bool:
    """Give the user a new auth version: call after a logout, deactivation or role change has committed.

    A failing Redis is retried briefly, then logged (False); page caches then forget their acceptances of the user's
    tokens within ACCEPTANCE_TTL_SECONDS.
    """
    return _bump(auth_version_key(user_id), f"auth version of user {user_id}", client)


# One round trip: the tenant's version (created when missing) and the total cached under it for one query.
_LOOKUP = """
local version = redis.call('GET', KEYS[1])
if not version then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  version = redis.call('GET', KEYS[1])
end
return {version, redis.call('GET', ARGV[2] .. version .. ':' .. ARGV[3])}
"""


class TotalCache:
    """Exact totals of the views per (tenant, data version, entity, filters), in Redis."""

    def __init__(self, client: redis.Redis | None, ttl_seconds: int = TOTAL_TTL_SECONDS) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._lookup = client.register_script(_LOOKUP) if client is not None else None

    def lookup(self, tenant_id: uuid.UUID | str, query: dict[str, Any]) -> tuple[str | None, int | None]:
        """The tenant's current data version and the total cached for query under it, in one round trip.

        (None, None) without a working Redis. Call it before counting: a total must never be stored under a version
        newer than the count's snapshot.
        """
        if self._lookup is None:
            return None, None
        try:
            version, total = self._lookup(
                keys=[data_version_key(tenant_id)],
                args=[uuid.uuid4().hex, f"autonomos:view_total:{tenant_id}:", self._digest(query)],
            )
        except RedisError as exc:
            log.warning("view totals uncached: %s", exc)
            return None, None
        return str(version), int(total) if total is not None else None

    def put(self, tenant_id: uuid.UUID | str, version: str, query: dict[str, Any], total: int) -> None:
        """Remember the total counted for this query at version."""
        if self.client is None:
            return
        try:
            self.client.set(self._key(tenant_id, version, query), total, ex=self.ttl_seconds)
        except RedisError as exc:
            log.warning("view total cache write failed: %s", exc)

    @staticmethod
    def _digest(query: dict[str, Any]) -> str:
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()

    @classmethod
    def _key(cls, tenant_id: uuid.UUID | str, version: str, query: dict[str, Any]) -> str:
        return f"autonomos:view_total:{tenant_id}:{version}:{cls._digest(query)}"
