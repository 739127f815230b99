"""The event hub itself: a slow subscriber never blocks a fast one, and a Redis restart loses no event."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from autonomos_api.services.event_stream import EventHub, Subscription
from autonomos_pipeline.dcl import events
from autonomos_pipeline.dcl.events import channel_for, publish
from autonomos_pipeline.dcl.redis_client import close_all
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import tenant_session
from tests.api.test_events import TEST_REDIS_URL
from tests.utils.stores import Store, make_tenant

pytestmark = pytest.mark.postgres


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A private redis-server on a free port (never the machine's shared one), stoppable and restartable."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.kill()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone."""
    with RedisServer() as server:
        yield server


def _publish(tenant_id: uuid.UUID, count: int, type_: str = "ingested") -> list[int]:
    ids = []
    for _ in range(count):
        with tenant_session(tenant_id) as session:
            ids.append(publish(session, tenant_id, type_, {"sent": time.time()}).id)
    return ids


async def _collect(hub: EventHub, sub: Subscription, into: list[int]) -> None:
    async for event in hub.events(sub):
        if event is not None:
            into.append(event.id)


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def _point_at(store: Store, redis_url: str | None, monkeypatch: pytest.MonkeyPatch) -> EventHub:
    monkeypatch.setenv("AUTONOMOS_DATABASE_URL", store.app_url)
    if redis_url:
        monkeypatch.setenv("AUTONOMOS_REDIS_URL", redis_url)
    get_settings.cache_clear()
    close_all()
    return EventHub(redis_url, engine=lambda: store.app_engine, queue_size=4, heartbeat_seconds=0.2, catch_up_batch=7)


@pytest.mark.parametrize(
    "redis_url", [pytest.param(None, id="journal"), pytest.param(TEST_REDIS_URL, id="redis", marks=pytest.mark.redis)]
)
def test_a_slow_subscriber_never_blocks_a_fast_one(
    pg_store: Store, redis_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _point_at(pg_store, redis_url, monkeypatch)
    tenant = make_tenant(pg_store, "Busy")

    async def scenario() -> None:
        await hub.start()
        try:
            if redis_url:
                await _until(lambda: hub.mode == "redis", 10, "the Redis subscription")
            fast_sub = await hub.subscribe(tenant)
            slow_sub = await hub.subscribe(tenant)
            fast: list[int] = []
            reader = asyncio.create_task(_collect(hub, fast_sub, fast))
            # the slow one reads its (empty) start, then stops reading
            warm_up = asyncio.create_task(_collect(hub, slow_sub, []))
            await _until(lambda: not slow_sub.lagging and not fast_sub.lagging, 10, "both subscriptions live")
            warm_up.cancel()
            ids = await asyncio.to_thread(_publish, tenant, 40)
            # the fast reader gets everything while the slow one has not read a single event
            await _until(lambda: len(fast) == 40, 10, "the fast subscriber")
            assert fast == ids
            assert slow_sub.queue.full() and slow_sub.lagging
            reader.cancel()
            # the slow one reads later: every event, in order, caught up from the journal in batches
            slow: list[int] = []
            late = asyncio.create_task(_collect(hub, slow_sub, slow))
            await _until(lambda: len(slow) >= 40, 10, "the slow subscriber")
            await asyncio.sleep(0.3)
            late.cancel()
            assert slow == ids
            assert slow_sub.catch_ups >= 1 + 40 // 7
        finally:
            await hub.stop()

    asyncio.run(scenario())


@pytest.mark.redis
def test_a_redis_restart_loses_nothing(
    pg_store: Store, private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _point_at(pg_store, private_redis.url, monkeypatch)
    tenant = make_tenant(pg_store, "Restart")

    async def scenario() -> None:
        await hub.start()
        try:
            await _until(lambda: hub.mode == "redis", 10, "the Redis subscription")
            sub = await hub.subscribe(tenant)
            got: list[int] = []
            reader = asyncio.create_task(_collect(hub, sub, got))
            ids = await asyncio.to_thread(_publish, tenant, 5)
            await _until(lambda: len(got) == 5, 10, "live events")

            private_redis.kill()
            await _until(lambda: hub.mode == "journal", 10, "the hub to notice Redis is gone")
            ids += await asyncio.to_thread(_publish, tenant, 5)  # fan-out fails; the journal has them
            await _until(lambda: len(got) == 10, 10, "events journaled while Redis was down")

            private_redis.start()
            await _until(lambda: hub.mode == "redis", 15, "the hub to resubscribe")
            ids += await asyncio.to_thread(_publish, tenant, 5)
            await _until(lambda: len(got) == 15, 10, "live events after the restart")
            await asyncio.sleep(0.3)
            reader.cancel()
            assert got == ids  # nothing lost, nothing twice, strictly increasing
            assert hub.reconnects >= 1
        finally:
            await hub.stop()

    asyncio.run(scenario())


@pytest.mark.redis
def test_the_hub_receives_only_the_events_of_tenants_it_has_streams_for(
    pg_store: Store, private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _point_at(pg_store, private_redis.url, monkeypatch)
    watched, busy = make_tenant(pg_store, "Watched"), make_tenant(pg_store, "Busy elsewhere")

    async def scenario() -> None:
        await hub.start()
        try:
            await _until(lambda: hub.mode == "redis", 10, "the Redis subscription")
            sub = await hub.subscribe(watched)
            got: list[int] = []
            reader = asyncio.create_task(_collect(hub, sub, got))
            await _until(lambda: not sub.lagging, 10, "the stream to go live")
            await asyncio.to_thread(_publish, busy, 20)  # nobody here streams this tenant
            ids = await asyncio.to_thread(_publish, watched, 3)
            await _until(lambda: len(got) == 3, 10, "the watched tenant's events")
            assert got == ids
            assert hub.received == 3, "the other tenant's 20 events never reached this process"

            hub.unsubscribe(sub)  # the last stream of the tenant closes: its channel is dropped on the next event
            reader.cancel()
            await asyncio.to_thread(_publish, watched, 1)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(_publish, watched, 5)
            await asyncio.sleep(0.3)
            assert hub.received == 3, "events of a tenant without streams are not dispatched"
            listeners = redis.Redis(port=private_redis.port).pubsub_numsub(channel_for(watched))
            assert listeners == [(channel_for(watched).encode(), 0)], "its channel was unsubscribed"

            again = await hub.subscribe(watched)  # a new stream subscribes again and misses nothing after its start
            later: list[int] = []
            reader = asyncio.create_task(_collect(hub, again, later))
            await _until(lambda: not again.lagging, 10, "the new stream to go live")
            ids = await asyncio.to_thread(_publish, watched, 2)
            await _until(lambda: len(later) == 2, 10, "live events of the new stream")
            assert later == ids
            reader.cancel()
        finally:
            await hub.stop()

    asyncio.run(scenario())


@pytest.mark.redis
def test_an_event_published_after_a_later_one_is_delivered_in_order(
    pg_store: Store, private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes commit a tenant's events in id order but may publish them in the other order: streams still
    deliver every event once, in increasing id order (the later message's prev_id reveals the missing one)."""
    hub = _point_at(pg_store, private_redis.url, monkeypatch)
    tenant = make_tenant(pg_store, "Racing")
    sender = redis.Redis(port=private_redis.port)

    def journal_quietly(types: list[str]) -> list[tuple[int, str]]:
        """Journal events without fanning them out; their ids and live messages (what each process would send)."""
        with monkeypatch.context() as quiet:
            quiet.setattr("autonomos_pipeline.dcl.events.get_redis", lambda: None)
            sent = []
            for type_ in types:
                with tenant_session(tenant) as session:
                    row = publish(session, tenant, type_, {"type": type_})
                    prev = session.info[events._PENDING_KEY][-1][1]
                sent.append((row.id, events.live_message(events.event_message(row), prev)))
            return sent

    async def scenario() -> None:
        await hub.start()
        try:
            await _until(lambda: hub.mode == "redis", 10, "the Redis subscription")
            every, filtered = await hub.subscribe(tenant), await hub.subscribe(tenant, types=["materialized"])
            got: list[int] = []
            got_filtered: list[int] = []
            readers = [
                asyncio.create_task(_collect(hub, every, got)),
                asyncio.create_task(_collect(hub, filtered, got_filtered)),
            ]
            await _until(lambda: not every.lagging and not filtered.lagging, 10, "both subscriptions live")
            (a, a_msg), (b, b_msg) = await asyncio.to_thread(journal_quietly, ["materialized", "viewed"])
            sender.publish(channel_for(tenant), b_msg)  # the later event is published first ...
            await _until(lambda: len(got) == 2 and len(got_filtered) == 1, 10, "the missed event, from the journal")
            sender.publish(channel_for(tenant), a_msg)  # ... and the earlier one afterwards
            catch_ups = (every.catch_ups, filtered.catch_ups)
            later = await asyncio.to_thread(journal_quietly, ["viewed", "viewed", "materialized"])
            for _, message in later:
                sender.publish(channel_for(tenant), message)
            (v1, _), (v2, _), (c, _) = later
            await _until(lambda: len(got) == 5 and len(got_filtered) == 2, 10, "the next live events")
            await asyncio.sleep(0.3)
            for reader in readers:
                reader.cancel()
            assert got == [a, b, v1, v2, c], "every event once, in id order"
            assert got_filtered == [a, c], "the type filter still applies"
            assert (every.catch_ups, filtered.catch_ups) == catch_ups, "in step again: the later events came live"
        finally:
            await hub.stop()

    asyncio.run(scenario())
