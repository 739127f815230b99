"""One Redis connection pool per process, for redis:// and rediss:// (TLS) URLs; None when Redis is not configured."""

from __future__ import annotations

import threading

import redis

from autonomos_pipeline.dcl.settings import get_settings

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def get_redis(url: str | None = None) -> redis.Redis | None:
    """Return the shared client for url (default: the configured AUTONOMOS_REDIS_URL), or None."""
    url = url or get_settings().redis_url
    if not url:
        return None
    with _lock:
        client = _clients.get(url)
        if client is None:
            pool = redis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)
            client = redis.Redis(connection_pool=pool)
            _clients[url] = client
        return client


def close_all() -> None:
    """Close every pool (process shutdown, tests)."""
    with _lock:
        for client in _clients.values():
            client.connection_pool.disconnect()
        _clients.clear()
