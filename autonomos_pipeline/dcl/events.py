"""Tenant lifecycle events: journaled in the serving store (the durable, ordered record), fanned out via Redis."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from autonomos_pipeline.dcl.redis_client import get_redis
from autonomos_pipeline.dcl.store.models import EventJournal

log = logging.getLogger(__name__)

EVENT_TYPES = frozenset(
    {
        "ingested",
        "canonicalized",
        "materialized",
        "viewed",
        "intent",
        "journaled",
        "drift",
        "repair_proposed",
        "repair_applied",
        "rag_coverage_check",
        "run_started",
        "run_succeeded",
        "run_failed",
    }
)
_PENDING_KEY = "autonomos_pending_events"
PREV_ID = "prev_id"  # key of a live message: the id of the tenant's previous event (0: none)


def event_lock_key(tenant_id: uuid.UUID | str) -> str:
    """The text whose hashtext() is the tenant's event advisory lock (every journal writer takes it until commit)."""
    return f"autonomos-events:{tenant_id}"


def channel_for(tenant_id: uuid.UUID | str) -> str:
    """The Redis pub/sub channel of one tenant's events."""
    return f"autonomos:events:{tenant_id}"


def publish(session: Session, tenant_id: uuid.UUID | str, type_: str, payload: dict[str, Any]) -> EventJournal:
    """Journal an event in session's transaction; it is fanned out through Redis once the transaction commits."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    if session.get_bind().dialect.name == "postgresql":
        # Ids come from one sequence; holding a per-tenant lock until commit makes a tenant's ids commit in order,
        # so a reader that has seen id N never misses a smaller id committed later (replay by Last-Event-ID), and
        # the tenant's newest id read under the lock is the previous event's (the live message's prev_id).
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": event_lock_key(tenant_id)})
    tid = uuid.UUID(str(tenant_id))
    prev = session.scalar(select(func.max(EventJournal.id)).where(EventJournal.tenant_id == tid)) or 0
    row = EventJournal(tenant_id=tid, type=type_, payload=payload)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append((row, int(prev)))
    return row


def live_message(message: dict[str, Any], prev_id: int) -> str:
    """The Redis form of a journaled event: its wire form plus `prev_id`, the id of the tenant's event before it.

    A subscriber whose last delivered id is below prev_id knows it missed an event (one published later than the
    next, since publication follows commit) and reads the journal, which holds it, instead of skipping it.
    """
    return json.dumps({**message, PREV_ID: prev_id}, default=str)


def event_message(row: EventJournal) -> dict[str, Any]:
    """The wire form of a journaled event."""
    return {
        "id": row.id,
        "tenant_id": str(row.tenant_id),
        "type": row.type,
        "payload": row.payload,
        "created_at": row.created_at.isoformat(),
    }


@event.listens_for(Session, "after_commit")
def _fan_out(session: Session) -> None:
    """Publish committed events to Redis; a Redis failure is logged, the journal still holds them for replay."""
    rows: list[tuple[EventJournal, int]] = session.info.pop(_PENDING_KEY, [])
    if not rows:
        return
    client = get_redis()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for row, prev_id in rows:
            pipe.publish(channel_for(row.tenant_id), live_message(event_message(row), prev_id))
        pipe.execute()
    except Exception as exc:  # Redis down: subscribers recover from the journal
        log.warning("event fan-out to Redis failed: %s", exc)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    """Events of a rolled-back transaction were never journaled: forget them."""
    session.info.pop(_PENDING_KEY, None)
