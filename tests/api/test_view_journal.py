"""The batched view journal: buffered `viewed` events reach the journal in order, survive a failed flush, and are
journaled at shutdown."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select

from autonomos_api.services.view_journal import ViewJournal
from autonomos_pipeline.dcl.events import channel_for, event_message, publish
from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import EventJournal, Tenant, get_engine, system_session, tenant_session
from tests.conftest import REDIS_URL
from tests.utils.stores import Store


def _tenant(engine: Engine) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    with system_session(engine) as session:
        session.add(Tenant(id=tenant_id, name="Journal test", slug=f"t-{tenant_id.hex}"))
    return tenant_id


def _payloads(engine: Engine, tenant_id: uuid.UUID) -> list[dict[str, object]]:
    with tenant_session(tenant_id, engine) as session:
        rows = session.scalars(select(EventJournal).order_by(EventJournal.id))
        return [row.payload for row in rows if row.type == "viewed"]


def test_a_flush_journals_each_tenants_events_in_order(sqlite_store: Store) -> None:
    engine = get_engine(sqlite_store.app_url)
    a, b = _tenant(engine), _tenant(engine)
    journal = ViewJournal(lambda: engine)
    for i in range(5):
        journal.record(a if i % 2 == 0 else b, {"n": i})
    assert journal.pending == 5 and _payloads(engine, a) == []
    assert journal.flush() == 5
    assert _payloads(engine, a) == [{"n": 0}, {"n": 2}, {"n": 4}]
    assert _payloads(engine, b) == [{"n": 1}, {"n": 3}]
    assert journal.pending == 0


def test_events_of_a_failed_flush_wait_for_the_next(sqlite_store: Store) -> None:
    engine = get_engine(sqlite_store.app_url)
    tenant = _tenant(engine)
    calls = []

    def flaky() -> Engine:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database unavailable")
        return engine

    journal = ViewJournal(flaky)
    journal.record(tenant, {"n": 1})
    journal.record(tenant, {"n": 2})
    assert journal.flush() == 0 and journal.pending == 2
    journal.record(tenant, {"n": 3})
    assert journal.flush() == 3
    assert _payloads(engine, tenant) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_stop_journals_what_is_still_buffered(sqlite_store: Store) -> None:
    engine = get_engine(sqlite_store.app_url)
    tenant = _tenant(engine)

    async def run() -> None:
        journal = ViewJournal(lambda: engine, interval=3600)
        await journal.start()
        journal.record(tenant, {"n": 1})
        await asyncio.sleep(0.05)
        assert _payloads(engine, tenant) == [], "the next flush is an hour away"
        await journal.stop()

    asyncio.run(run())
    assert _payloads(engine, tenant) == [{"n": 1}]


def _redis_tenant(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, uuid.UUID, redis.Redis]:
    """Redis configured; the owner's engine, a new tenant, and the Redis client."""
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    engine = get_engine(pg_store.admin_url)
    client = get_redis()
    assert client is not None
    return engine, _tenant(engine), client


def _flush_views(pg_store: Store, tenant: uuid.UUID, count: int) -> None:
    """Record count viewed events {"n": i} and journal them in one flush, as the application role."""
    journal = ViewJournal(lambda: get_engine(pg_store.app_url))
    for i in range(count):
        journal.record(tenant, {"n": i})
    assert journal.flush() == count


def _published_while_flushing(
    pg_store: Store, client: redis.Redis, tenant: uuid.UUID, count: int, *, listening: bool, wait: float
) -> list[dict[str, Any]]:
    """Flush count viewed events while watching the tenant's channel; the messages published, parsed.

    listening: subscribe to the channel (a listener); else a pattern subscription, which sees what is published
    but is no listener of the channel.
    """
    watcher = client.pubsub()
    if listening:
        watcher.subscribe(channel_for(tenant))
    else:
        watcher.psubscribe(channel_for(tenant))
    watcher.get_message(timeout=2)  # the subscription confirmation
    _flush_views(pg_store, tenant, count)
    seen = [watcher.get_message(timeout=wait) for _ in range(count)]
    watcher.close()
    close_all()
    return [json.loads(m["data"]) for m in seen if m is not None]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_batch_is_fanned_out_to_redis_in_journal_order(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, tenant, client = _redis_tenant(pg_store, monkeypatch)
    with tenant_session(tenant, engine) as session:
        before = publish(session, tenant, "ingested", {"rows": 1}).id  # the tenant's event before the batch
    delivered = _published_while_flushing(pg_store, client, tenant, 4, listening=True, wait=2)
    assert [m["payload"] for m in delivered] == [{"n": i} for i in range(4)]
    ids = [m["id"] for m in delivered]
    assert ids == sorted(ids) and [m["type"] for m in delivered] == ["viewed"] * 4
    prevs = [m.pop("prev_id") for m in delivered]
    assert prevs == [before, *ids[:-1]], "each names the tenant's event before it (so a gap shows)"
    with tenant_session(tenant, engine) as session:  # what a stream replays is what went out live, field for field
        journaled = select(EventJournal).where(EventJournal.id > before).order_by(EventJournal.id)
        replayed = [event_message(row) for row in session.scalars(journaled)]
    assert json.loads(json.dumps(replayed, default=str)) == delivered


@pytest.mark.postgres
@pytest.mark.redis
def test_without_listeners_a_batch_is_journaled_and_not_published(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, tenant, client = _redis_tenant(pg_store, monkeypatch)
    published = _published_while_flushing(pg_store, client, tenant, 5, listening=False, wait=0.5)
    assert _payloads(engine, tenant) == [{"n": i} for i in range(5)], "journaled in order"
    assert published == [], "no process listens to the tenant's channel: nothing went out"
