"""Current data and auth versions from Redis, read for many concurrent requests in one round trip.

A request that wants to serve from a process-local cache must first learn the versions as they are now: every
version bumped before the request arrived must be seen. Requests that arrive while a read is in flight wait for the
next one, which starts after them; so each still reads after it arrived, and a busy process makes one round trip per
batch of requests instead of one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["VersionFence"]

log = logging.getLogger(__name__)

# Each key's value, created (NX) with a fresh token when missing, so a value never repeats after Redis lost a key.
_READ = """
local values = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value then
    redis.call('SET', key, ARGV[1] .. ':' .. i, 'NX')
    value = redis.call('GET', key)
  end
  values[i] = value
end
return values
"""

_Waiter = tuple[Sequence[str], "asyncio.Future[tuple[str, ...] | None]"]


class VersionFence:
    """Coalesces version reads: one EVALSHA per batch of waiting requests, one batch in flight at a time."""

    def __init__(self, redis_url: str, timeout_seconds: float = 0.5) -> None:
        self.timeout_seconds = timeout_seconds  # a Redis that hangs sends requests to the routes, not into a wait
        self._redis = aioredis.Redis.from_url(redis_url, decode_responses=True, health_check_interval=30)
        self._script = self._redis.register_script(_READ)
        self._waiting: list[_Waiter] = []
        self._task: asyncio.Task[None] | None = None
        self.round_trips = 0

    async def read(self, keys: Sequence[str]) -> tuple[str, ...] | None:
        """The current value of each key (created when missing), or None when Redis cannot be read."""
        future: asyncio.Future[tuple[str, ...] | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="version-fence")
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._read_batch(batch)
        finally:
            self._task = None
            for _, future in self._waiting:  # cancelled mid-batch (shutdown): nobody is left waiting forever
                if not future.done():
                    future.set_result(None)
            self._waiting = []

    async def _read_batch(self, batch: list[_Waiter]) -> None:
        keys = list(dict.fromkeys(key for wanted, _ in batch for key in wanted))
        values: dict[str, str] | None = None
        try:
            self.round_trips += 1
            found = await asyncio.wait_for(self._script(keys=keys, args=[uuid.uuid4().hex]), self.timeout_seconds)
            values = dict(zip(keys, (str(value) for value in found), strict=True))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("version fence cannot read Redis (%s): serving without the page cache", exc)
        finally:  # answered on success, error and cancellation alike
            for wanted, future in batch:
                if not future.done():
                    future.set_result(None if values is None else tuple(values[key] for key in wanted))

    async def close(self) -> None:
        """Stop reading and close the connection pool."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
