"""Event history, SSE and WebSocket streams: replay, type filter, tenant isolation, stream tokens, both hub modes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from autonomos_api.api.routes import events as events_routes
from autonomos_api.api.routes.events import STREAM_AUDIENCE, STREAM_CLOSED, _stream_key
from autonomos_api.core.security import ALGORITHM
from autonomos_api.main import create_app
from autonomos_api.services.event_stream import EventHub
from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.dcl.redis_client import close_all
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import tenant_session
from tests.conftest import REDIS_URL
from tests.utils.api import Account, add_user, login, point_api_at, register
from tests.utils.stores import Store

TEST_REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/13"
HEARTBEAT = 0.2
WAIT = 10.0


def publish_events(tenant_id: uuid.UUID, *types: str, **payload: Any) -> list[int]:
    """Journal (and fan out) one event per type, each in its own transaction, as the pipeline does."""
    ids = []
    for type_ in types:
        with tenant_session(tenant_id) as session:
            ids.append(publish(session, tenant_id, type_, {"n": len(ids), **payload}).id)
    return ids


@contextmanager
def api(store: Store, monkeypatch: pytest.MonkeyPatch, redis_url: str | None) -> Iterator[TestClient]:
    """The application on store (with Redis fan-out when redis_url is given), its hub heartbeating quickly."""
    if redis_url:
        monkeypatch.setenv("AUTONOMOS_REDIS_URL", redis_url)
    point_api_at(store.app_url, monkeypatch)
    with TestClient(create_app()) as client:
        hub: EventHub = client.app.state.event_hub  # type: ignore[attr-defined]
        hub.heartbeat_seconds = HEARTBEAT
        deadline = time.monotonic() + WAIT
        while redis_url and hub.mode != "redis":
            assert time.monotonic() < deadline, "the hub never subscribed to Redis"
            time.sleep(0.02)
        yield client
    close_all()


MODES = [
    pytest.param(("sqlite_store", None), id="journal-sqlite"),
    pytest.param(("pg_store", None), id="journal-postgres", marks=pytest.mark.postgres),
    pytest.param(("pg_store", TEST_REDIS_URL), id="redis-postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


@pytest.fixture(params=MODES)
def client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API in each hub mode: journal polling on SQLite and PostgreSQL, Redis fan-out on PostgreSQL."""
    store_fixture, redis_url = request.param
    with api(request.getfixturevalue(store_fixture), monkeypatch, redis_url) as test_client:
        yield test_client


@pytest.fixture
def pg_redis_client(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API on PostgreSQL (row-level security) with Redis fan-out."""
    with api(pg_store, monkeypatch, TEST_REDIS_URL) as test_client:
        yield test_client


# SSE reading ------------------------------------------------------------------------------------------------------
@dataclass
class Frame:
    """One SSE block: an event (id, event, data) or a comment."""

    id: int | None = None
    event: str | None = None
    data: dict[str, Any] | None = None
    comments: list[str] = field(default_factory=list)


class SSE:
    """Reads frames of a streaming response, every wait bounded (the server heartbeats every HEARTBEAT s)."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        self.lines = response.iter_lines()
        self.heartbeats = 0

    def frame(self) -> Frame:
        """The next complete frame."""
        frame = Frame()
        for line in self.lines:
            if line == "":
                if frame.comments == ["heartbeat"]:
                    self.heartbeats += 1
                return frame
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comments.append(value)
            elif name == "id":
                frame.id = int(value)
            elif name == "event":
                frame.event = value
            elif name == "data":
                frame.data = json.loads(value)
        raise AssertionError("the stream ended")

    def subscribed(self) -> None:
        """Wait for the subscription confirmation (events published afterwards are delivered)."""
        first = self.frame()
        assert first.comments and first.comments[0].startswith("subscribed"), first

    def events(self, count: int, timeout: float = WAIT) -> list[Frame]:
        """The next count events (heartbeats skipped); fails after timeout."""
        got: list[Frame] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            assert time.monotonic() < deadline, f"got {len(got)} of {count} events: {[f.id for f in got]}"
            frame = self.frame()
            if frame.id is not None:
                got.append(frame)
        return got

    def until_closed(self, timeout: float = WAIT) -> tuple[list[Frame], Frame]:
        """The events that arrive before the stream_closed event, and that event; the stream must end after it."""
        got: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"the stream stayed open; got {[f.id for f in got]}"
            frame = self.frame()
            if frame.event == STREAM_CLOSED:
                assert frame.id is None, "the closing event carries no id: resuming starts after the last event"
                with pytest.raises(AssertionError, match="the stream ended"):
                    self.frame()
                return got, frame
            if frame.id is not None:
                got.append(frame)

    def quiet_for(self, seconds: float) -> list[Frame]:
        """Events that arrive within seconds (expected: none)."""
        got: list[Frame] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            frame = self.frame()
            if frame.id is not None:
                got.append(frame)
        return got


@contextmanager
def sse(client: TestClient, account: Account | None = None, **params: Any) -> Iterator[SSE]:
    """An open SSE stream (Bearer header of account unless a token is in params)."""
    headers = dict(params.pop("headers", {}))
    if account is not None:
        headers.update(account.headers)
    with client.stream("GET", "/api/v1/events/stream", params=params, headers=headers) as response:
        reader = SSE(response)
        reader.subscribed()
        yield reader


# history -----------------------------------------------------------------------------------------------------------
def test_history_is_keyset_paginated_and_filtered(client: TestClient) -> None:
    a = register(client)
    ids = publish_events(a.tenant_id, "ingested", "drift", "canonicalized", "drift", "materialized", "repair_applied")
    first = client.get("/api/v1/events", params={"limit": 4}, headers=a.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [e["id"] for e in body["data"]] == ids[:4] and body["total"] == 6
    second = client.get("/api/v1/events", params={"limit": 4, "cursor": body["next_cursor"]}, headers=a.headers)
    assert [e["id"] for e in second.json()["data"]] == ids[4:] and second.json()["next_cursor"] is None
    event = body["data"][1]
    assert event["type"] == "drift" and event["payload"] == {"n": 1} and event["tenant_id"] == str(a.tenant_id)
    assert datetime.fromisoformat(event["created_at"]).tzinfo is not None

    drift = client.get("/api/v1/events", params={"types": "drift,repair_applied"}, headers=a.headers).json()
    assert [e["id"] for e in drift["data"]] == [ids[1], ids[3], ids[5]] and drift["total"] == 3
    after = client.get("/api/v1/events", params={"after_id": ids[3]}, headers=a.headers).json()
    assert [e["id"] for e in after["data"]] == ids[4:]
    newest = client.get("/api/v1/events", params={"order": "desc", "limit": 2}, headers=a.headers).json()
    assert [e["id"] for e in newest["data"]] == [ids[5], ids[4]]
    older = client.get(
        "/api/v1/events", params={"order": "desc", "limit": 2, "cursor": newest["next_cursor"]}, headers=a.headers
    ).json()
    assert [e["id"] for e in older["data"]] == [ids[3], ids[2]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/events", params={"since": future}, headers=a.headers).json()["total"] == 0
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/events", params={"since": past}, headers=a.headers).json()["total"] == 6


def test_history_refuses_bad_input(client: TestClient) -> None:
    a = register(client)
    for params, field_name in [
        ({"types": "drift,nope"}, "types"),
        ({"limit": 501}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"after_id": -1}, "after_id"),
    ]:
        resp = client.get("/api/v1/events", params=params, headers=a.headers)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert field_name in resp.json()["detail"]
    asc_cursor = client.get("/api/v1/events", params={"limit": 1}, headers=a.headers).json()["next_cursor"]
    assert asc_cursor is None  # no events yet
    assert client.get("/api/v1/events").status_code == 401


# SSE ---------------------------------------------------------------------------------------------------------------
def test_sse_replays_after_last_event_id_then_follows_live(client: TestClient) -> None:
    a = register(client)
    ids = publish_events(a.tenant_id, "ingested", "canonicalized", "materialized")
    with sse(client, a, headers={"Last-Event-ID": str(ids[0])}) as stream:
        replayed = stream.events(2)
        assert [f.id for f in replayed] == ids[1:]
        assert [f.event for f in replayed] == ["canonicalized", "materialized"]
        assert replayed[0].data is not None and replayed[0].data["payload"] == {"n": 1}
        live = publish_events(a.tenant_id, "drift", "repair_applied")
        assert [f.id for f in stream.events(2)] == live
    # the query parameter works the same (EventSource cannot set headers on its first connection)
    with sse(client, a, last_event_id=ids[1]) as stream:
        assert [f.id for f in stream.events(3)] == [ids[2], *live]
    # without a Last-Event-ID the stream starts at the newest event: nothing old is replayed
    with sse(client, a) as stream:
        assert stream.quiet_for(0.6) == []
        newer = publish_events(a.tenant_id, "viewed")
        assert [f.id for f in stream.events(1)] == newer


def test_sse_filters_by_type(client: TestClient) -> None:
    a = register(client)
    with sse(client, a, types="drift,repair_applied") as stream:
        ids = publish_events(a.tenant_id, "ingested", "drift", "materialized", "repair_applied", "viewed")
        got = stream.events(2)
        assert [(f.id, f.event) for f in got] == [(ids[1], "drift"), (ids[3], "repair_applied")]
        assert stream.quiet_for(0.5) == []
    resp = client.get("/api/v1/events/stream", params={"types": "drift,bogus"}, headers=a.headers)
    assert resp.status_code == 422 and "bogus" in resp.json()["detail"]


def test_sse_heartbeats_while_idle(client: TestClient) -> None:
    a = register(client)
    with sse(client, a) as stream:
        assert stream.quiet_for(5 * HEARTBEAT) == []
        assert stream.heartbeats >= 3


# isolation ---------------------------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.redis
def test_tenant_b_never_receives_tenant_a_events(pg_redis_client: TestClient) -> None:
    client = pg_redis_client
    a, b = register(client, "Alpha"), register(client, "Beta")
    a_old = publish_events(a.tenant_id, "drift", secret="ALPHA-SECRET")
    with (
        sse(client, b, last_event_id=0) as b_stream,
        client.websocket_connect("/api/v1/events/ws?last_event_id=0", headers=b.headers) as b_ws,
    ):
        assert b_ws.receive_json()["type"] == "subscribed"
        publish_events(a.tenant_id, "ingested", "materialized", secret="ALPHA-SECRET")
        b_ids = publish_events(b.tenant_id, "ingested", secret="beta")
        got = b_stream.events(1)
        assert [f.id for f in got] == b_ids and got[0].data is not None
        assert got[0].data["tenant_id"] == str(b.tenant_id)
        assert b_stream.quiet_for(0.5) == []
        ws_events = _ws_events(b_ws, 1)
        assert [m["id"] for m in ws_events] == b_ids and "ALPHA" not in json.dumps(ws_events)
    history = client.get("/api/v1/events", params={"after_id": 0}, headers=b.headers).json()
    assert [e["id"] for e in history["data"]] == b_ids and history["total"] == 1
    assert "ALPHA" not in json.dumps(history)
    # A's own stream replays A's events only
    with sse(client, a, last_event_id=0) as a_stream:
        got = a_stream.events(3)
        assert got[0].id == a_old[0] and {f.data["tenant_id"] for f in got if f.data} == {str(a.tenant_id)}


def _ws_events(ws: Any, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"got {len(got)} of {count}"
        message = ws.receive_json()
        if "id" in message:
            got.append(message)
    return got


# WebSocket ---------------------------------------------------------------------------------------------------------
def test_websocket_replays_filters_and_follows_live(client: TestClient) -> None:
    a = register(client)
    ids = publish_events(a.tenant_id, "ingested", "drift", "materialized")
    token = client.post("/api/v1/events/token", headers=a.headers).json()["token"]
    url = f"/api/v1/events/ws?token={token}&last_event_id={ids[0]}&types=drift,repair_applied"
    with client.websocket_connect(url) as ws:
        hello = ws.receive_json()
        assert hello == {"type": "subscribed", "last_event_id": ids[0]}
        assert [m["id"] for m in _ws_events(ws, 1)] == [ids[1]]
        live = publish_events(a.tenant_id, "ingested", "repair_applied")
        message = _ws_events(ws, 1)[0]
        assert message["id"] == live[1] and message["type"] == "repair_applied"
        assert message["tenant_id"] == str(a.tenant_id) and message["payload"] == {"n": 1}
        heartbeat = ws.receive_json()
        assert heartbeat["type"] == "heartbeat"
    with client.websocket_connect("/api/v1/events/ws", headers=a.headers) as ws:
        assert ws.receive_json()["type"] == "subscribed"


# stream tokens -----------------------------------------------------------------------------------------------------
def _signed(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, _stream_key(get_settings()), algorithm=ALGORITHM)


def _claims(a: Account, **override: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "sub": str(a.user_id),
        "tenant_id": str(a.tenant_id),
        "role": "admin",
        "iat": now,
        "exp": now + timedelta(minutes=4),
        "jti": uuid.uuid4().hex,
        "sid": jwt.decode(a.token, options={"verify_signature": False})["jti"],
        "scope": "events",
        "aud": STREAM_AUDIENCE,
    }
    return {**base, **override}


def _stream_status(client: TestClient, token: str) -> tuple[int, str]:
    resp = client.get("/api/v1/events/stream", params={"token": token})
    return resp.status_code, resp.json().get("code", "")


def test_stream_token_rules(client: TestClient) -> None:
    a = register(client)
    issued = client.post("/api/v1/events/token", headers=a.headers)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["scope"] == "events" and body["token_type"] == "stream" and 0 < body["expires_in"] <= 300
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["scope"] == "events" and claims["tenant_id"] == str(a.tenant_id) and claims["sub"] == str(a.user_id)
    assert claims["exp"] - claims["iat"] <= 300

    # the stream token opens the stream from the URL ...
    ids = publish_events(a.tenant_id, "drift")
    with sse(client, token=body["token"], last_event_id=0) as stream:
        assert [f.id for f in stream.events(1)] == ids
    # ... but is no access token for the rest of the API
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 401
    # the 7-day access token is refused in a URL, on SSE and WebSocket
    assert _stream_status(client, a.token) == (401, "access_token_in_url")
    with client.websocket_connect(f"/api/v1/events/ws?token={a.token}") as ws:
        closed = ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 4401
        assert "access_token_in_url" in closed["reason"]
    # expired, wrong scope, wrong audience, too long-lived, forged, missing
    past = datetime.now(UTC) - timedelta(minutes=10)
    assert _stream_status(client, _signed(_claims(a, iat=past, exp=past + timedelta(minutes=1)))) == (
        401,
        "token_expired",
    )
    assert _stream_status(client, _signed(_claims(a, scope="admin"))) == (401, "invalid_token")
    assert _stream_status(client, _signed(_claims(a, aud="elsewhere"))) == (401, "invalid_token")
    long_lived = _claims(a, exp=datetime.now(UTC) + timedelta(hours=1))
    assert _stream_status(client, _signed(long_lived)) == (401, "invalid_token")
    forged = jwt.encode(_claims(a), "not-the-secret-of-this-deployment-at-all", algorithm=ALGORITHM)
    assert _stream_status(client, forged) == (401, "invalid_token")
    missing = client.get("/api/v1/events/stream")
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing.headers["content-type"] == "application/problem+json"
    with client.websocket_connect("/api/v1/events/ws") as ws:
        assert ws.receive()["code"] == 4401
    # a stream token dies with the access token it came from (logout)
    fresh = login(client, a.email)
    derived = client.post("/api/v1/events/token", headers={"Authorization": f"Bearer {fresh}"}).json()["token"]
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert _stream_status(client, derived) == (401, "token_revoked")
    # the token endpoint itself needs an access token (a stream token cannot mint more)
    again = client.post("/api/v1/events/token", headers={"Authorization": f"Bearer {body['token']}"})
    assert again.status_code == 401


def test_websocket_refuses_bad_parameters(client: TestClient) -> None:
    a = register(client)
    with client.websocket_connect("/api/v1/events/ws?types=bogus", headers=a.headers) as ws:
        closed = ws.receive()
        assert closed["code"] == 1008 and "bogus" in closed["reason"]
    with client.websocket_connect("/api/v1/events/ws?last_event_id=-3", headers=a.headers) as ws:
        assert ws.receive()["code"] == 1008


# open streams end with their token and their user -------------------------------------------------------------------
def _ws_until_closed(ws: Any, timeout: float = WAIT) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The event messages before the server closes the WebSocket, and the close message."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"the WebSocket stayed open; got {got}"
        message = ws.receive()
        if message["type"] == "websocket.close":
            return got, message
        body = json.loads(message["text"])
        if body["type"] not in ("subscribed", "heartbeat"):
            got.append(body)


def test_streams_end_when_their_token_expires(client: TestClient) -> None:
    a = register(client)
    lifetime = timedelta(seconds=3)  # exp is in whole seconds: 2-3 s
    first = publish_events(a.tenant_id, "drift")
    with sse(client, token=_signed(_claims(a, exp=datetime.now(UTC) + lifetime)), last_event_id=0) as stream:
        delivered, closed = stream.until_closed()
    assert [f.id for f in delivered] == first
    assert closed.data is not None and closed.data["code"] == "token_expired"

    with client.websocket_connect(
        "/api/v1/events/ws", params={"token": _signed(_claims(a, exp=datetime.now(UTC) + lifetime))}
    ) as ws:
        messages, close = _ws_until_closed(ws)
    assert messages == []
    assert close["code"] == 4401 and close["reason"].startswith("token_expired")
    # what was published meanwhile waits for the next stream, opened with a new token
    later = publish_events(a.tenant_id, "repair_applied")
    with sse(client, token=_signed(_claims(a)), last_event_id=first[-1]) as stream:
        assert [f.id for f in stream.events(1)] == later


def test_logging_out_or_deactivating_the_user_ends_open_streams(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_routes, "STREAM_RECHECK_SECONDS", 0.3)
    a = register(client)
    session = login(client, a.email)
    bearer = {"Authorization": f"Bearer {session}"}
    with sse(client, headers=bearer) as stream:
        ids = publish_events(a.tenant_id, "drift")
        assert [f.id for f in stream.events(1)] == ids
        assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 200
        delivered, closed = stream.until_closed()
    assert delivered == [] and closed.data is not None and closed.data["code"] == "token_revoked"

    member = add_user(client, a, "member")
    stream_token = client.post("/api/v1/events/token", headers=member.headers).json()["token"]
    with client.websocket_connect("/api/v1/events/ws", params={"token": stream_token}) as ws:
        assert ws.receive_json()["type"] == "subscribed"
        deactivated = client.patch(f"/api/v1/users/{member.user_id}", json={"is_active": False}, headers=a.headers)
        assert deactivated.status_code == 200
        messages, close = _ws_until_closed(ws)
    assert messages == [] and close["code"] == 4401
    assert close["reason"].startswith("invalid_token: the token's user does not exist or is deactivated")
    # the admin's own stream is untouched by all this
    with sse(client, a) as stream:
        assert stream.quiet_for(1.0) == []


def test_a_store_that_cannot_answer_a_recheck_keeps_streams_open(
    pg_redis_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_routes, "STREAM_RECHECK_SECONDS", 0.2)
    monkeypatch.setattr(events_routes, "RECHECK_RETRY_SECONDS", 0.2)
    real = events_routes._check_user
    calls: list[int] = []

    def flaky(claims: Any) -> None:
        calls.append(1)
        if 2 <= len(calls) <= 4:  # the stream's opening check passes, its next three rechecks meet an outage
            raise OperationalError("SELECT 1", {}, Exception("the server closed the connection"))
        real(claims)

    monkeypatch.setattr(events_routes, "_check_user", flaky)
    a = register(pg_redis_client)
    session = login(pg_redis_client, a.email)
    bearer = {"Authorization": f"Bearer {session}"}
    with sse(pg_redis_client, headers=bearer) as stream:
        deadline = time.monotonic() + WAIT
        while len(calls) < 5:  # through the outage and one good check
            assert time.monotonic() < deadline, f"only {len(calls)} checks"
            stream.frame()
        ids = publish_events(a.tenant_id, "drift")
        assert [f.id for f in stream.events(1)] == ids, "the stream outlived the outage"
        assert pg_redis_client.post("/api/v1/auth/logout", headers=bearer).status_code == 200
        _, closed = stream.until_closed()
    assert closed.data is not None and closed.data["code"] == "token_revoked"
