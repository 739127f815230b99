"""LLM usage counters (calls, tokens, calls saved), global and per tenant, kept in Redis or a shared SQLite file.

Key layout (Redis, and the names a store-backed backend mirrors): ``dcl:llm:<name>`` for the global counter and
``dcl:llm:<name>:tenant:<tenant_id>`` for one tenant. Both live across processes and restarts.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Protocol

import redis

from autonomos_pipeline.dcl.redis_client import get_redis
from autonomos_pipeline.dcl.settings import Settings, get_settings

logger = logging.getLogger(__name__)

CALLS = "calls"
TOKENS = "tokens"
CALLS_SAVED = "calls_saved"
COUNTER_NAMES: tuple[str, ...] = (CALLS, TOKENS, CALLS_SAVED)
COUNTER_FILE_NAME = "llm_counters.db"


def counter_key(name: str, tenant_id: str | None = None, key_prefix: str = "") -> str:
    """The Redis key of one counter: global when tenant_id is None, otherwise that tenant's."""
    key = f"{key_prefix}dcl:llm:{name}"
    return key if tenant_id is None else f"{key}:tenant:{tenant_id}"


class CounterBackend(Protocol):
    """Where counters live. Every method is safe to call from many processes at once."""

    def incr(self, name: str, amount: int, tenant_id: str | None) -> None:
        """Add amount to the global counter `name` and, when tenant_id is given, to that tenant's, atomically."""
        ...

    def get_all(self, tenant_id: str | None) -> dict[str, int]:
        """Every counter of one scope (global when tenant_id is None), missing counters as 0."""
        ...

    def reset(self, tenant_id: str | None) -> None:
        """Zero one tenant's counters, or (tenant_id None) the global ones and every tenant's."""
        ...


class RedisCounters:
    """Counters as Redis integer keys, incremented with INCRBY inside one MULTI/EXEC pipeline."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = "", names: tuple[str, ...] = COUNTER_NAMES) -> None:
        self._client = client
        self._prefix = key_prefix
        self._names = names

    def incr(self, name: str, amount: int, tenant_id: str | None) -> None:
        """INCRBY the global key and the tenant's key in one transaction."""
        pipe = self._client.pipeline(transaction=True)
        pipe.incrby(counter_key(name, None, self._prefix), amount)
        if tenant_id is not None:
            pipe.incrby(counter_key(name, tenant_id, self._prefix), amount)
        pipe.execute()

    def get_all(self, tenant_id: str | None) -> dict[str, int]:
        """MGET the known counters of one scope."""
        values = self._client.mget([counter_key(name, tenant_id, self._prefix) for name in self._names])
        return {name: int(value or 0) for name, value in zip(self._names, values, strict=True)}

    def reset(self, tenant_id: str | None) -> None:
        """DEL one tenant's keys, or the global keys plus every tenant key found by SCAN."""
        keys = [counter_key(name, tenant_id, self._prefix) for name in self._names]
        if tenant_id is None:
            pattern = f"{_glob_escape(self._prefix)}dcl:llm:*:tenant:*"
            keys.extend(str(key) for key in self._client.scan_iter(match=pattern, count=500))
        for start in range(0, len(keys), 500):
            self._client.delete(*keys[start : start + 500])


class FileCounters:
    """Counters in a small SQLite file (WAL mode); every increment is one upsert transaction, safe across processes."""

    _GLOBAL = "global"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS llm_counters ("
                " scope TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,"
                " PRIMARY KEY (scope, name))"
            )

    def incr(self, name: str, amount: int, tenant_id: str | None) -> None:
        """Upsert the global row and the tenant's row in one transaction."""
        scopes = [self._GLOBAL] if tenant_id is None else [self._GLOBAL, self._tenant_scope(tenant_id)]
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO llm_counters (scope, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value",
                [(scope, name, amount) for scope in scopes],
            )

    def get_all(self, tenant_id: str | None) -> dict[str, int]:
        """Every counter of one scope; the three LLM counters are always present."""
        scope = self._GLOBAL if tenant_id is None else self._tenant_scope(tenant_id)
        with self._connect() as conn:
            rows = conn.execute("SELECT name, value FROM llm_counters WHERE scope = ?", (scope,)).fetchall()
        counters = dict.fromkeys(COUNTER_NAMES, 0)
        counters.update({str(name): int(value) for name, value in rows})
        return counters

    def reset(self, tenant_id: str | None) -> None:
        """Delete one tenant's rows, or every row."""
        with self._transaction() as conn:
            if tenant_id is None:
                conn.execute("DELETE FROM llm_counters")
            else:
                conn.execute("DELETE FROM llm_counters WHERE scope = ?", (self._tenant_scope(tenant_id),))

    @staticmethod
    def _tenant_scope(tenant_id: str) -> str:
        return f"tenant:{tenant_id}"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10.0, isolation_level=None)) as conn:
            conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across process crashes, cheap commits
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


class LLMTelemetry:
    """What the mapping engine and the advisors record, and what the API reports."""

    def __init__(self, backend: CounterBackend) -> None:
        self.backend = backend

    def record_call(self, tenant_id: str | None, tokens: int) -> None:
        """Count one answered LLM call and the tokens it used; a counter outage is logged, never raised."""
        self._incr(CALLS, 1, tenant_id)
        if tokens > 0:
            self._incr(TOKENS, tokens, tenant_id)

    def record_saved(self, tenant_id: str | None, n: int = 1) -> None:
        """Count LLM calls skipped because retrieval memory already covered the fields."""
        if n > 0:
            self._incr(CALLS_SAVED, n, tenant_id)

    def stats(self, tenant_id: str | None = None) -> dict[str, int]:
        """Current counters {"calls", "tokens", "calls_saved"}: global, or one tenant's."""
        counters = self.backend.get_all(tenant_id)
        return {name: counters.get(name, 0) for name in COUNTER_NAMES}

    def reset(self, tenant_id: str | None = None) -> None:
        """Zero one tenant's counters, or everything when tenant_id is None."""
        self.backend.reset(tenant_id)
        logger.info("llm counters reset", extra={"tenant_id": tenant_id})

    def _incr(self, name: str, amount: int, tenant_id: str | None) -> None:
        try:
            self.backend.incr(name, amount, tenant_id)
        except (redis.RedisError, sqlite3.Error, OSError) as exc:
            logger.warning(
                "llm counter not recorded",
                extra={"counter": name, "amount": amount, "tenant_id": tenant_id, "error": type(exc).__name__},
            )


def get_telemetry(settings: Settings | None = None) -> LLMTelemetry:
    """Telemetry on Redis when AUTONOMOS_REDIS_URL is set, otherwise on <data_dir>/llm_counters.db."""
    settings = settings or get_settings()
    client = get_redis(settings.redis_url) if settings.redis_url else None
    if client is not None:
        return LLMTelemetry(RedisCounters(client))
    return LLMTelemetry(FileCounters(settings.data_dir / COUNTER_FILE_NAME))


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so a key prefix matches literally."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
