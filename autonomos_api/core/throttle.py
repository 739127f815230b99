"""Login throttling: failed attempts counted per account and per client in fixed windows (Redis or in-process)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20
WINDOW_SECONDS = 15 * 60
_PREFIX = "autonomos:login_failures:"


@dataclass(frozen=True)
class Verdict:
    """Whether a login may be attempted, and if not, after how many seconds."""

    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    """Counts failures under keys like account:<email> and client:<ip>; blocks a key at its limit until the window ends.

    With a Redis client the counters are shared by every API process; without one, or while Redis is unreachable,
    they live in this process.
    """

    def __init__(self, client: redis.Redis | None = None, window_seconds: int = WINDOW_SECONDS) -> None:
        self._redis = client
        self._window = window_seconds
        self._lock = threading.Lock()
        self._local: dict[str, tuple[int, float]] = {}

    def check(self, limits: dict[str, int]) -> Verdict:
        """Verdict for an attempt touching these keys, each with its own failure limit."""
        retry = 0
        for key, limit in limits.items():
            count, ttl = self._get(key)
            if count >= limit:
                retry = max(retry, ttl)
        return Verdict(allowed=retry == 0, retry_after=retry)

    def record_failure(self, keys: list[str]) -> None:
        """Count one failed attempt against every key."""
        for key in keys:
            self._incr(key)

    def reset(self, key: str) -> None:
        """Forget a key's failures (after a successful login)."""
        if self._redis is not None:
            try:
                self._redis.delete(_PREFIX + key)
            except redis.RedisError as exc:
                log.warning("login throttle: Redis unavailable (%s), using in-process counters", type(exc).__name__)
        with self._lock:
            self._local.pop(key, None)

    def _get(self, key: str) -> tuple[int, int]:
        if self._redis is not None:
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.get(_PREFIX + key)
                pipe.ttl(_PREFIX + key)
                raw, ttl = pipe.execute()
                return int(raw or 0), max(int(ttl), 1)
            except redis.RedisError as exc:
                log.warning("login throttle: Redis unavailable (%s), using in-process counters", type(exc).__name__)
        with self._lock:
            count, started = self._local.get(key, (0, 0.0))
            left = self._window - (time.monotonic() - started)
            if left <= 0:
                self._local.pop(key, None)
                return 0, 0
            return count, max(int(left) + 1, 1)

    def _incr(self, key: str) -> None:
        if self._redis is not None:
            try:
                pipe = self._redis.pipeline(transaction=True)
                pipe.incr(_PREFIX + key)
                pipe.expire(_PREFIX + key, self._window, nx=True)
                pipe.execute()
                return
            except redis.RedisError as exc:
                log.warning("login throttle: Redis unavailable (%s), using in-process counters", type(exc).__name__)
        with self._lock:
            count, started = self._local.get(key, (0, 0.0))
            now = time.monotonic()
            if now - started >= self._window:
                count, started = 0, now
            self._local[key] = (count + 1, started)
