"""Events are journaled in order per tenant and fanned out through Redis pub/sub after commit."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from autonomos_pipeline.dcl.events import channel_for, publish
from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.store import EventJournal, tenant_session
from tests.utils.stores import Store, make_tenant


def test_journal_is_ordered_and_per_tenant(sqlite_store: Store) -> None:
    a = make_tenant(sqlite_store, "A")
    b = make_tenant(sqlite_store, "B")
    with tenant_session(a, sqlite_store.app_engine) as s:
        for i in range(3):
            publish(s, a, "ingested", {"rows": i})
    with tenant_session(b, sqlite_store.app_engine) as s:
        publish(s, b, "drift", {"stream": "accounts"})
    with tenant_session(a, sqlite_store.app_engine) as s:
        rows = s.scalars(select(EventJournal).order_by(EventJournal.id)).all()
    assert [r.payload["rows"] for r in rows] == [0, 1, 2]
    assert [r.id for r in rows] == sorted(r.id for r in rows)


def test_unknown_event_type_is_refused(sqlite_store: Store) -> None:
    a = make_tenant(sqlite_store, "A")
    with tenant_session(a, sqlite_store.app_engine) as s, pytest.raises(ValueError, match="unknown event type"):
        publish(s, a, "exploded", {})


@pytest.mark.redis
def test_committed_events_reach_redis_subscribers(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from autonomos_pipeline.dcl.settings import get_settings

    monkeypatch.setenv("AUTONOMOS_REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    tid = make_tenant(sqlite_store, "Redis")
    client = get_redis()
    assert client is not None
    pubsub = client.pubsub()
    pubsub.subscribe(channel_for(tid))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    try:
        with tenant_session(tid, sqlite_store.app_engine) as s:
            publish(s, tid, "materialized", {"rows": 7})
        with pytest.raises(RuntimeError), tenant_session(tid, sqlite_store.app_engine) as s:
            publish(s, tid, "materialized", {"rows": 99})
            raise RuntimeError("rolled back")
        message = pubsub.get_message(timeout=5)
        assert message is not None and json.loads(message["data"])["payload"] == {"rows": 7}
        assert pubsub.get_message(timeout=1) is None  # the rolled-back event was never published
    finally:
        pubsub.close()
        close_all()
    assert uuid.UUID(str(tid))
