"""The `viewed` events of the views, buffered in-process and journaled in batches by one background task.

Journaling takes the tenant's event lock until commit; doing that inside every read serialized a tenant's readers.
Reads now only append to a buffer; a flush journals all buffered events of a tenant in one transaction (in the order
the reads happened) a few milliseconds later, and once more at shutdown. A crash can lose the last buffered view
events, never data.

On PostgreSQL a flush inserts a tenant's events with one statement over one JSON array on a plain DB-API connection,
and fans them out through Redis only when some process listens to the tenant's channel (checked after the commit; a
stream that subscribes later catches up from the journal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.orm import Session

from autonomos_api.core.db import api_engine
from autonomos_pipeline.dcl.events import channel_for, event_lock_key, live_message
from autonomos_pipeline.dcl.redis_client import get_redis
from autonomos_pipeline.dcl.store import EventJournal, tenant_session
from autonomos_pipeline.dcl.store.db import TENANT_SETTING
from autonomos_pipeline.dcl.store.models import utcnow

__all__ = ["ViewJournal"]

log = logging.getLogger(__name__)

_JOURNAL: Table = EventJournal.__table__  # type: ignore[assignment]
_PG_LOCK = (
    "SELECT set_config(%s, %s, true), set_config('synchronous_commit', 'off', true), "
    "pg_advisory_xact_lock(hashtext(%s))"
)
# prev: the tenant's newest id before this insert (every part of the statement sees the snapshot before it)
_PG_INSERT = (
    "WITH prev AS (SELECT coalesce(max(id), 0) AS id FROM event_journal WHERE tenant_id = CAST(%s AS uuid)) "
    "INSERT INTO event_journal (tenant_id, type, payload, created_at) "
    "SELECT CAST(%s AS uuid), 'viewed', e.value, CAST(%s AS timestamptz) "
    "FROM json_array_elements(CAST(%s AS json)) WITH ORDINALITY AS e(value, n) ORDER BY e.n "
    "RETURNING id, (SELECT id FROM prev)"
)


class ViewJournal:
    """A bounded buffer of (tenant, payload) `viewed` events and the task that journals them."""

    def __init__(
        self,
        engine: Callable[[], Engine] = api_engine,
        *,
        interval: float = 0.1,
        max_backoff: float = 2.0,
        max_buffered: int = 100_000,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.max_backoff = max_backoff
        self.max_buffered = max_buffered
        self.dropped = 0
        self._buffer: deque[tuple[uuid.UUID, dict[str, Any]]] = deque()
        self._flush_lock = threading.Lock()
        self._failing = False
        self._task: asyncio.Task[None] | None = None

    def record(self, tenant_id: uuid.UUID, payload: dict[str, Any]) -> None:
        """Buffer one `viewed` event (thread-safe, no I/O); the next flush journals it."""
        if len(self._buffer) >= self.max_buffered:
            self.dropped += 1
            log.warning("view journal buffer full (%d): a viewed event was dropped", self.max_buffered)
            return
        self._buffer.append((tenant_id, payload))

    @property
    def pending(self) -> int:
        """Events buffered and not yet journaled."""
        return len(self._buffer)

    def flush(self) -> int:
        """Journal every buffered event now, one transaction per tenant; returns how many were journaled.

        Flushes never overlap, so each tenant's events reach the journal in the order they were recorded. When a
        tenant's transaction fails its events go back to the front of the buffer for the next flush.
        """
        with self._flush_lock:
            batch: list[tuple[uuid.UUID, dict[str, Any]]] = []
            while self._buffer:
                batch.append(self._buffer.popleft())
            by_tenant: dict[uuid.UUID, list[dict[str, Any]]] = {}
            for tenant_id, payload in batch:
                by_tenant.setdefault(tenant_id, []).append(payload)
            journaled = 0
            failed: list[tuple[uuid.UUID, dict[str, Any]]] = []
            for tenant_id, payloads in by_tenant.items():
                try:
                    self._journal(tenant_id, payloads)
                    journaled += len(payloads)
                except Exception:
                    log.exception("journaling %d viewed events of tenant %s failed", len(payloads), tenant_id)
                    failed += [(tenant_id, p) for p in payloads]
            self._buffer.extendleft(reversed(failed))
            self._failing = bool(failed)
            return journaled

    def _journal(self, tenant_id: uuid.UUID, payloads: list[dict[str, Any]]) -> None:
        """One transaction under the tenant's event lock (held until commit, as publish() takes it, so the tenant's
        ids commit in order); after the commit the events are fanned out in order, when some process listens to the
        tenant's channel.
        """
        engine = self.engine()
        created_at = utcnow()
        if engine.dialect.name == "postgresql":
            prev, ids = self._pg_insert(engine, tenant_id, payloads, created_at)
        else:
            with tenant_session(tenant_id, engine) as session:
                prev, ids = self._insert(session, tenant_id, payloads, created_at)
        if self._listened(tenant_id):
            stamp, tenant = created_at.isoformat(), str(tenant_id)
            self._fan_out(
                tenant_id,
                [
                    live_message(
                        {"id": i, "tenant_id": tenant, "type": "viewed", "payload": p, "created_at": stamp}, before
                    )
                    for i, p, before in zip(ids, payloads, [prev, *ids[:-1]], strict=True)
                ],
            )

    @staticmethod
    def _pg_insert(
        engine: Engine, tenant_id: uuid.UUID, payloads: list[dict[str, Any]], created_at: Any
    ) -> tuple[int, list[int]]:
        """Insert the events in order on a plain DB-API connection: two statements and the commit, no ORM.

        The first statement sets the row-level-security tenant, relaxes synchronous_commit for this transaction (a
        crash may lose the last view events, as the buffer may) and takes the tenant's event lock. Ids come from the
        sequence as the rows are inserted in array order, so ascending ids are the array's order. Returns the
        tenant's newest id before them and their ids.
        """
        tenant = str(tenant_id)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(_PG_LOCK, (TENANT_SETTING, tenant, event_lock_key(tenant)))
            cursor.execute(_PG_INSERT, (tenant, tenant, created_at, json.dumps(payloads)))
            returned = cursor.fetchall()
            raw.commit()
            return int(returned[0][1]), sorted(int(row[0]) for row in returned)
        except BaseException:
            raw.rollback()
            raise
        finally:
            raw.close()

    @staticmethod
    def _insert(
        session: Session, tenant_id: uuid.UUID, payloads: list[dict[str, Any]], created_at: Any
    ) -> tuple[int, list[int]]:
        """Insert the events in order (SQLite: one transaction serializes writers); the tenant's newest id before
        them, and their ids, ascending."""
        prev = session.scalar(select(func.max(_JOURNAL.c.id)).where(_JOURNAL.c.tenant_id == tenant_id)) or 0
        rows = [
            {"tenant_id": tenant_id, "type": "viewed", "payload": payload, "created_at": created_at}
            for payload in payloads
        ]
        result = session.execute(insert(_JOURNAL).returning(_JOURNAL.c.id, sort_by_parameter_order=True), rows)
        return int(prev), list(result.scalars())

    @staticmethod
    def _listened(tenant_id: uuid.UUID) -> bool:
        """Whether any process subscribes to the tenant's channel now, or it cannot be told (checked after the
        commit: a stream that subscribes later catches up from the journal, which already holds these events)."""
        client = get_redis()
        if client is None:
            return False
        try:
            counts = client.pubsub_numsub(channel_for(tenant_id))
        except RedisError:
            return True  # unknown: publish (and let the publish fail or succeed) rather than starve live streams
        return any(int(count) > 0 for _, count in counts)

    @staticmethod
    def _fan_out(tenant_id: uuid.UUID, messages: list[str]) -> None:
        client = get_redis()
        if client is None or not messages:
            return
        try:
            pipe = client.pipeline(transaction=False)
            channel = channel_for(tenant_id)
            for message in messages:
                pipe.publish(channel, message)
            pipe.execute()
        except RedisError as exc:  # subscribers recover from the journal
            log.warning("view event fan-out to Redis failed: %s", exc)

    async def start(self) -> None:
        """Start the background flush task."""
        self._task = asyncio.create_task(self._run(), name="view-journal")

    async def stop(self) -> None:
        """Stop the task and journal what is still buffered."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.flush)

    async def _run(self) -> None:
        delay = self.interval
        while True:
            await asyncio.sleep(delay)
            if self._buffer:
                await asyncio.to_thread(self.flush)
            delay = min(delay * 2, self.max_backoff) if self._failing else self.interval
