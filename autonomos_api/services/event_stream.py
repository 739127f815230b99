"""The per-process event hub: one Redis subscriber (or a journal poller) fans tenant events out to streams.

The subscriber listens only to the channels of tenants that have an open stream in this process: a process without
listeners does not receive (and parse) every tenant's events, which at high read rates are mostly `viewed` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError
from sqlalchemy import Engine, func, select

from autonomos_api.core.config import get_settings
from autonomos_api.core.db import api_engine
from autonomos_pipeline.dcl.events import PREV_ID, channel_for, event_message
from autonomos_pipeline.dcl.store import EventJournal, tenant_session

log = logging.getLogger(__name__)

_PREFIX = channel_for("")
HUB_CHANNEL = "autonomos:event-hub"  # always subscribed, so the connection exists before any tenant listens


@dataclass(frozen=True, eq=False)
class Event:
    """One tenant event as it travels: id and type for routing, its JSON text, and its SSE frame (built once)."""

    id: int
    type: str
    data: str  # the JSON wire form: {id, tenant_id, type, payload, created_at}
    prev: int | None = None  # live events: the id of the tenant's event before this one (see live_message)

    @cached_property
    def sse_frame(self) -> bytes:
        """The event as one server-sent-events frame, shared by every subscriber."""
        return f"id: {self.id}\nevent: {self.type}\ndata: {self.data}\n\n".encode()

    def message(self) -> dict[str, Any]:
        """The parsed wire form."""
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


_WAKE = Event(-1, "", "")  # queued to wake a consumer that must catch up from the journal


def fetch_after(
    engine: Engine, tenant_id: uuid.UUID, after_id: int, types: frozenset[str] | None, limit: int
) -> list[Event]:
    """Up to limit journaled events of tenant_id with id > after_id (and of types), oldest first."""
    with tenant_session(tenant_id, engine) as session:
        query = select(EventJournal).where(EventJournal.tenant_id == tenant_id, EventJournal.id > after_id)
        if types:
            query = query.where(EventJournal.type.in_(sorted(types)))
        rows = session.scalars(query.order_by(EventJournal.id).limit(limit))
        return [Event(row.id, row.type, json.dumps(event_message(row), default=str)) for row in rows]


def head_id(engine: Engine, tenant_id: uuid.UUID) -> int:
    """The id of tenant_id's newest journaled event (0 when it has none)."""
    with tenant_session(tenant_id, engine) as session:
        return int(session.scalar(select(func.max(EventJournal.id)).where(EventJournal.tenant_id == tenant_id)) or 0)


@dataclass(eq=False)
class Subscription:
    """One stream connection: its tenant, type filter, bounded queue and the id of the last event it delivered."""

    tenant_id: uuid.UUID
    types: frozenset[str] | None
    cursor: int
    queue: asyncio.Queue[Event]
    lagging: bool = True  # starts by reading the journal after `cursor` (replay), then follows live delivery
    catch_ups: int = field(default=0, repr=False)
    #: the journal holds every event of the tenant up to this id (a live event proved it): a complete catch-up read
    #: moves the cursor there even when the type filter left nothing to deliver
    complete_to: int = field(default=0, repr=False)

    def wants(self, event: Event) -> bool:
        """True when the event passes this subscription's type filter."""
        return self.types is None or event.type in self.types

    def mark_lagging(self) -> None:
        """Switch to catching up from the journal (queue overflow or a Redis gap) and wake the consumer."""
        self.lagging = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(_WAKE)


class EventHub:
    """Fans out tenant events to subscriptions: Redis pub/sub when configured (journal poll when absent or down)."""

    def __init__(
        self,
        redis_url: str | None,
        engine: Callable[[], Engine] = api_engine,
        *,
        queue_size: int = 1000,
        poll_interval: float = 0.2,
        heartbeat_seconds: float = 15.0,
        catch_up_batch: int = 500,
        max_backoff: float = 2.0,
    ) -> None:
        self.redis_url = redis_url
        self.engine = engine
        self.queue_size = queue_size
        self.poll_interval = poll_interval
        self.heartbeat_seconds = heartbeat_seconds
        self.catch_up_batch = catch_up_batch
        self.max_backoff = max_backoff
        self._subs: dict[uuid.UUID, set[Subscription]] = {}
        self._poll_cursor: dict[uuid.UUID, int] = {}
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None  # the live subscriber connection (redis.asyncio PubSub) while the loop holds one
        self._redis_live = False  # subscribed and receiving: the poller rests
        self._tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0
        self.received = 0  # tenant events that arrived over Redis

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the Redis subscriber (when configured) and the journal poller."""
        if self.redis_url:
            self._redis = aioredis.Redis.from_url(self.redis_url, decode_responses=True, health_check_interval=10)
            self._tasks.append(asyncio.create_task(self._redis_loop(), name="event-hub-redis"))
        self._tasks.append(asyncio.create_task(self._poll_loop(), name="event-hub-poller"))

    async def stop(self) -> None:
        """Stop the background tasks and close the Redis pool."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
            self._redis = None

    @property
    def mode(self) -> str:
        """`redis` while live Redis delivery works, otherwise `journal` (polling)."""
        return "redis" if self._redis_live else "journal"

    # subscriptions -----------------------------------------------------------------------------------------------
    async def subscribe(
        self, tenant_id: uuid.UUID, types: Iterable[str] | None = None, last_event_id: int | None = None
    ) -> Subscription:
        """Register a stream: it replays the journal after last_event_id, or starts at the tenant's newest event."""
        if last_event_id is None:
            last_event_id = await asyncio.to_thread(head_id, self.engine(), tenant_id)
        # It starts by reading the journal after its cursor: that covers whatever was published between reading the
        # head and registering here (the live queue takes over from then; dedupe by id drops the overlap).
        sub = Subscription(
            tenant_id=tenant_id,
            types=frozenset(types) if types else None,
            cursor=last_event_id,
            queue=asyncio.Queue(self.queue_size),
        )
        first = tenant_id not in self._subs
        self._subs.setdefault(tenant_id, set()).add(sub)
        if first:
            await self._listen(tenant_id)
        return sub

    async def _listen(self, tenant_id: uuid.UUID) -> None:
        """Subscribe the live connection to the tenant's channel (the loop subscribes on every (re)connect too).

        Events published before Redis confirms the subscription are not lost: the confirmation makes the tenant's
        subscriptions catch up from the journal.
        """
        pubsub = self._pubsub
        if pubsub is None:
            return
        try:
            await pubsub.subscribe(channel_for(tenant_id))
        except (RedisError, OSError) as exc:  # the loop notices the broken connection and resubscribes everything
            log.warning("event hub could not subscribe to tenant %s: %s", tenant_id, exc)

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a closed stream."""
        subs = self._subs.get(sub.tenant_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.tenant_id]
                self._poll_cursor.pop(sub.tenant_id, None)

    def subscriber_count(self) -> int:
        """Number of open subscriptions."""
        return sum(len(s) for s in self._subs.values())

    async def batches(self, sub: Subscription, max_batch: int = 256) -> AsyncIterator[list[Event]]:
        """The subscription's events in strictly increasing id order, in batches of what is ready; [] = heartbeat.

        Live events come in publication order, which may differ from commit order across processes; a live event
        whose prev_id is past the cursor reveals a missed one, and the journal is read instead.
        """
        while True:
            if sub.lagging:
                # Cleared before reading: anything published from now on is queued live (dedupe drops overlaps).
                sub.lagging = False
                sub.catch_ups += 1
                rows = await asyncio.to_thread(
                    fetch_after, self.engine(), sub.tenant_id, sub.cursor, sub.types, self.catch_up_batch
                )
                fresh = [event for event in rows if event.id > sub.cursor]
                if fresh:
                    sub.cursor = fresh[-1].id
                if len(rows) >= self.catch_up_batch:
                    sub.lagging = True
                else:
                    sub.cursor = max(sub.cursor, sub.complete_to)
                if fresh:
                    yield fresh
                continue
            try:
                first = await asyncio.wait_for(sub.queue.get(), self.heartbeat_seconds)
            except TimeoutError:
                yield []
                continue
            ready = [first]
            while len(ready) < max_batch and not sub.queue.empty():
                ready.append(sub.queue.get_nowait())
            batch = []
            for event in ready:
                if event.id <= sub.cursor:
                    continue  # a wake-up, or already delivered (replayed, or seen on both Redis and the journal)
                if event.prev is not None and event.prev > sub.cursor:
                    # an earlier event of the tenant was not delivered (another process published it later than
                    # this one): it is committed, as is this one, so read the journal rather than skip it
                    sub.complete_to = max(sub.complete_to, event.id)
                    sub.lagging = True
                    break
                sub.cursor = event.id
                if sub.wants(event):
                    batch.append(event)
            if batch:
                yield batch

    async def events(self, sub: Subscription) -> AsyncIterator[Event | None]:
        """The subscription's events one by one; None when a heartbeat is due."""
        async for batch in self.batches(sub):
            if not batch:
                yield None
            for event in batch:
                yield event

    @asynccontextmanager
    async def subscription(
        self, tenant_id: uuid.UUID, types: Iterable[str] | None = None, last_event_id: int | None = None
    ) -> AsyncIterator[Subscription]:
        """A subscription that is removed when the block exits."""
        sub = await self.subscribe(tenant_id, types, last_event_id)
        try:
            yield sub
        finally:
            self.unsubscribe(sub)

    # fan-out -----------------------------------------------------------------------------------------------------
    def dispatch(self, tenant_id: uuid.UUID, event: Event) -> None:
        """Hand one event to the tenant's subscriptions; a full queue makes its subscription catch up instead."""
        for sub in tuple(self._subs.get(tenant_id, ())):
            if sub.lagging or event.id <= sub.cursor:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.lagging = True  # its consumer finds the flag after the queued events: it reads the journal

    def _all_catch_up(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub.mark_lagging()

    async def _redis_loop(self) -> None:
        assert self._redis is not None
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                listening = set(self._subs)
                await pubsub.subscribe(HUB_CHANNEL, *(channel_for(tenant) for tenant in listening))
                # connected: from here on a first stream of a tenant subscribes its channel itself (exposing the
                # pubsub earlier let a concurrent subscribe open a second connection nobody reads)
                self._pubsub = pubsub
                arrived = set(self._subs) - listening
                if arrived:
                    await pubsub.subscribe(*(channel_for(tenant) for tenant in arrived))
                # Events published before the subscription took effect (start, or a Redis outage) are in the journal.
                self._redis_live = True
                self._poll_cursor.clear()
                self._all_catch_up()
                backoff = 0.1
                while True:
                    raw = await pubsub.get_message(timeout=1.0)
                    if raw is not None:
                        await self._on_redis_raw(pubsub, raw)
            except (RedisError, OSError) as exc:
                if self._redis_live:
                    log.warning("event hub lost Redis (%s); following the journal until it is back", exc)
                self._redis_live = False
                self._poll_cursor.clear()
                self.reconnects += 1
                self._all_catch_up()
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def _on_redis_raw(self, pubsub: Any, raw: dict[str, Any]) -> None:
        kind, channel = raw.get("type"), str(raw.get("channel", ""))
        if kind == "message":
            tenant_id = self._tenant_of(channel)
            if tenant_id is not None and tenant_id not in self._subs:
                await pubsub.unsubscribe(channel)  # its last stream closed: stop receiving the tenant's events
                if tenant_id in self._subs:  # a new stream subscribed meanwhile: make sure the channel stays
                    await pubsub.subscribe(channel)
                return
            self._on_redis_message(channel, raw["data"])
        elif kind == "subscribe":
            tenant_id = self._tenant_of(channel)
            for sub in tuple(self._subs.get(tenant_id, ())) if tenant_id is not None else ():
                sub.mark_lagging()  # what was published before the subscription took effect is in the journal

    @staticmethod
    def _tenant_of(channel: str) -> uuid.UUID | None:
        if not channel.startswith(_PREFIX):
            return None
        try:
            return uuid.UUID(channel.removeprefix(_PREFIX))
        except ValueError:
            return None

    def _on_redis_message(self, channel: str, data: str) -> None:
        self.received += 1
        try:
            tenant_id = uuid.UUID(channel.removeprefix(_PREFIX))
            message = json.loads(data)
            event_id, type_, prev = message.get("id"), message.get("type"), message.pop(PREV_ID, None)
            if str(message.get("tenant_id")) != str(tenant_id) or not isinstance(event_id, int):
                raise ValueError("malformed event")
            if prev is not None and not isinstance(prev, int):
                raise ValueError("malformed prev_id")
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("ignoring a malformed event on %s: %s", channel, exc)
            return
        if prev is not None:
            data = json.dumps(message)  # streams send the wire form a journal replay sends
        self.dispatch(tenant_id, Event(event_id, str(type_), data, prev))

    async def _poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            if not self._redis_live and self._subs:
                # one query per tenant with listeners, concurrently; a round takes poll_interval, not more
                polls = [self._poll_tenant(tenant_id) for tenant_id in list(self._subs)]
                results = await asyncio.gather(*polls, return_exceptions=True)
                for result in results:
                    if isinstance(result, Exception):  # the store is briefly unreachable: next round retries
                        log.warning("event journal poll failed for a tenant: %s", result)
            await asyncio.sleep(max(0.0, self.poll_interval - (loop.time() - started)))

    async def _poll_tenant(self, tenant_id: uuid.UUID) -> None:
        subs = self._subs.get(tenant_id)
        if not subs:
            return
        cursor = self._poll_cursor.get(tenant_id)
        if cursor is None:
            cursor = min(sub.cursor for sub in subs)
        while True:
            rows = await asyncio.to_thread(fetch_after, self.engine(), tenant_id, cursor, None, self.catch_up_batch)
            for event in rows:
                self.dispatch(tenant_id, event)
                cursor = event.id
            if tenant_id in self._subs:
                self._poll_cursor[tenant_id] = cursor
            if len(rows) < self.catch_up_batch:
                return


def get_hub(app: FastAPI) -> EventHub:
    """The application's hub (started by the lifespan)."""
    hub: EventHub = app.state.event_hub
    return hub


@asynccontextmanager
async def hub_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run one event hub for the application's process."""
    hub = EventHub(get_settings().redis_url)
    await hub.start()
    app.state.event_hub = hub
    try:
        yield
    finally:
        await hub.stop()
