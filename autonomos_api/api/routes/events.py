"""Tenant events: history, short-lived stream tokens, a live SSE stream and a WebSocket (journal replay, then live)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from autonomos_api.api.deps import ClaimsDep, CurrentUser, SessionDep, SettingsDep, get_current_user
from autonomos_api.api.pagination import invalid
from autonomos_api.core.config import Settings, get_settings
from autonomos_api.core.db import api_engine
from autonomos_api.core.errors import APIError
from autonomos_api.core.security import ALGORITHM, TokenClaims, decode_access_token
from autonomos_api.models.events import EventPublic, EventsPublic, StreamToken
from autonomos_api.services.event_stream import EventHub, Subscription
from autonomos_pipeline.dcl.events import EVENT_TYPES
from autonomos_pipeline.dcl.store import EventJournal, tenant_session

log = logging.getLogger(__name__)
router = APIRouter(prefix="/events", tags=["events"])

STREAM_TOKEN_SECONDS = 300
STREAM_SCOPE = "events"
STREAM_AUDIENCE = "autonomos:events"
STREAM_CLAIMS = ["sub", "tenant_id", "role", "iat", "exp", "jti", "sid", "scope", "aud"]
WS_UNAUTHORIZED = 4401
RETRY_MILLISECONDS = 2000
#: The SSE event (WebSocket: close code 4401) that ends a stream whose token expired or whose user may no longer read.
STREAM_CLOSED = "stream_closed"
#: How often an open stream checks again that its user is active and its (originating) token not revoked.
STREAM_RECHECK_SECONDS = 30.0
#: How soon it asks again when the serving store could not answer.
RECHECK_RETRY_SECONDS = 5.0
_BEARER = {"WWW-Authenticate": "Bearer"}
_optional_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)

TypesQuery = Annotated[
    str | None,
    Query(max_length=500, description="comma-separated event types to keep, e.g. `drift,repair_applied`"),
]


# stream tokens ---------------------------------------------------------------------------------------------------
def _stream_key(settings: Settings) -> bytes:
    """A key derived from the JWT secret: stream tokens never verify as access tokens, nor the reverse."""
    secret = settings.jwt_secret.get_secret_value().encode()
    return hmac.new(secret, b"autonomos-events-stream", hashlib.sha256).digest()


def create_stream_token(settings: Settings, claims: TokenClaims) -> str:
    """Sign a stream token for the access token's user and tenant (scope `events`, at most 5 minutes)."""
    now = datetime.now(UTC)
    expires = min(now + timedelta(seconds=STREAM_TOKEN_SECONDS), claims.expires_at)
    payload = {
        "sub": str(claims.user_id),
        "tenant_id": str(claims.tenant_id),
        "role": claims.role,
        "iat": now,
        "exp": expires,
        "jti": uuid.uuid4().hex,
        "sid": claims.jti,  # the access token it came from: logging that out revokes the stream token too
        "scope": STREAM_SCOPE,
        "aud": STREAM_AUDIENCE,
    }
    return jwt.encode(payload, _stream_key(settings), algorithm=ALGORITHM)


def decode_stream_token(settings: Settings, token: str) -> TokenClaims:
    """Verify a stream token; the claims carry the originating access token's jti (checked against logouts)."""
    payload = jwt.decode(
        token,
        _stream_key(settings),
        algorithms=[ALGORITHM],
        audience=STREAM_AUDIENCE,
        options={"require": STREAM_CLAIMS},
    )
    if payload.get("scope") != STREAM_SCOPE:
        raise jwt.InvalidTokenError("not a stream token")
    issued, expires = int(payload["iat"]), int(payload["exp"])
    if expires - issued > STREAM_TOKEN_SECONDS:
        raise jwt.InvalidTokenError("stream token lives too long")
    try:
        return TokenClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            tenant_id=uuid.UUID(str(payload["tenant_id"])),
            role=str(payload["role"]),
            jti=str(payload["sid"]),
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
    except (ValueError, TypeError) as exc:
        raise jwt.InvalidTokenError("malformed claims") from exc


@dataclass(frozen=True)
class StreamAuthError(Exception):
    """Why a stream could not be authenticated."""

    code: str
    message: str


def _is_access_token(settings: Settings, token: str) -> bool:
    try:
        decode_access_token(settings, token)
    except jwt.InvalidTokenError:
        return False
    return True


def _claims_for_stream(settings: Settings, bearer: str | None, query_token: str | None) -> TokenClaims:
    """The claims of a Bearer access/stream token or of a `?token=` stream token (never an access token)."""
    try:
        if bearer:
            try:
                return decode_access_token(settings, bearer)
            except jwt.ExpiredSignatureError:
                raise
            except jwt.InvalidTokenError:
                return decode_stream_token(settings, bearer)
        if query_token:
            if _is_access_token(settings, query_token):
                raise StreamAuthError(
                    "access_token_in_url",
                    "access tokens must not appear in URLs; get a stream token from POST /api/v1/events/token",
                )
            return decode_stream_token(settings, query_token)
    except jwt.ExpiredSignatureError:
        raise StreamAuthError("token_expired", "the token has expired; get a new one") from None
    except jwt.InvalidTokenError:
        raise StreamAuthError("invalid_token", "the token is not valid for the event stream") from None
    raise StreamAuthError("not_authenticated", "a bearer token or a stream token (?token=) is required")


def _check_user(claims: TokenClaims) -> None:
    """The token's user exists in its tenant, is active, and the (originating) access token was not revoked."""
    with tenant_session(claims.tenant_id, api_engine()) as session:
        get_current_user(session, claims)


async def authenticate_stream(settings: Settings, bearer: str | None, query_token: str | None) -> TokenClaims:
    """Verified claims of a stream request; raises StreamAuthError."""
    claims = _claims_for_stream(settings, bearer, query_token)
    try:
        await run_in_threadpool(_check_user, claims)
    except APIError as exc:
        raise StreamAuthError(exc.code, exc.message) from None
    return claims


@dataclass
class StreamLease:
    """What keeps an open stream open: its token's lifetime and, checked again every recheck_seconds, its user.

    The stream checks it before it sends anything (events or a heartbeat), so it ends within a heartbeat of the
    token's expiry, a logout or a deactivation, and sends nothing after. The first recheck comes at a random point
    of the interval, so streams opened together (after a restart) do not all query at once; when the serving store
    cannot answer, the stream stays open and asks again sooner.
    """

    claims: TokenClaims
    recheck_seconds: float
    due: float = field(init=False)  # when the next recheck is due (time.monotonic)

    def __post_init__(self) -> None:
        self.due = time.monotonic() + random.uniform(0.5, 1.0) * self.recheck_seconds

    async def ended(self) -> StreamAuthError | None:
        """Why the stream must end now, or None."""
        if datetime.now(UTC) >= self.claims.expires_at:
            return StreamAuthError("token_expired", "the token has expired; reconnect with a new one (Last-Event-ID)")
        if time.monotonic() < self.due:
            return None
        try:
            await run_in_threadpool(_check_user, self.claims)
        except APIError as exc:
            return StreamAuthError(exc.code, exc.message)
        except SQLAlchemyError as exc:
            log.warning("event stream of user %s: cannot check the user, keeping it open: %s", self.claims.user_id, exc)
            self.due = time.monotonic() + min(RECHECK_RETRY_SECONDS, self.recheck_seconds)
            return None
        self.due = time.monotonic() + self.recheck_seconds
        return None


def lease_of(claims: TokenClaims) -> StreamLease:
    """The lease of a stream opened with claims (just checked)."""
    return StreamLease(claims, STREAM_RECHECK_SECONDS)


async def stream_claims(
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(_optional_bearer)],
    token: Annotated[str | None, Query(max_length=4000, description="a stream token (never an access token)")] = None,
) -> TokenClaims:
    """The claims of the SSE request; 401 problem+json when it is not authenticated."""
    try:
        return await authenticate_stream(settings, bearer, token)
    except StreamAuthError as exc:
        raise APIError(401, exc.code, exc.message, headers=_BEARER) from None


StreamClaimsDep = Annotated[TokenClaims, Depends(stream_claims)]


# helpers ---------------------------------------------------------------------------------------------------------
def parse_types(raw: str | None, field: str = "types") -> frozenset[str] | None:
    """The requested event types (None: all); 422 naming the unknown ones."""
    if raw is None or not raw.strip():
        return None
    types = frozenset(t.strip() for t in raw.split(",") if t.strip())
    unknown = sorted(types - EVENT_TYPES)
    if unknown:
        raise invalid(field, f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")
    return types or None


async def types_filter(types: TypesQuery = None) -> frozenset[str] | None:
    """The `types` query parameter, validated (422 names unknown types)."""
    return parse_types(types)


TypesDep = Annotated[frozenset[str] | None, Depends(types_filter)]


async def hub_of(app: FastAPI) -> EventHub:
    """The application's event hub (started by the lifespan; started here when an app runs without one)."""
    hub: EventHub | None = getattr(app.state, "event_hub", None)
    if hub is None:
        hub = app.state.event_hub = EventHub(get_settings().redis_url)
        await hub.start()
    return hub


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, default=str, separators=(",", ":"))


def _encode_cursor(order: str, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{order}:{event_id}".encode()).decode().rstrip("=")


def _decode_cursor(order: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_order, _, value = raw.partition(":")
        if cursor_order != order:
            raise ValueError("cursor of another order")
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("cursor", "not a cursor of this list and order; start again without one") from None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# routes ----------------------------------------------------------------------------------------------------------
@router.get("", response_model=EventsPublic)
def list_events(
    user: CurrentUser,
    session: SessionDep,
    wanted: TypesDep,
    since: Annotated[datetime | None, Query(description="only events created at or after this moment")] = None,
    after_id: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="only events with a larger id")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="asc: oldest first; desc: newest first")] = "asc",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EventsPublic:
    """The tenant's journaled events, keyset-paginated by id, filtered by type, time and id."""
    conditions: list[Any] = [EventJournal.tenant_id == user.tenant_id]
    if wanted:
        conditions.append(EventJournal.type.in_(sorted(wanted)))
    if since is not None:
        conditions.append(EventJournal.created_at >= _utc(since))
    if after_id is not None:
        conditions.append(EventJournal.id > after_id)
    total = session.scalar(select(func.count()).select_from(EventJournal).where(*conditions)) or 0
    query = select(EventJournal).where(*conditions)
    if cursor:
        position = _decode_cursor(order, cursor)
        query = query.where(EventJournal.id > position if order == "asc" else EventJournal.id < position)
    ordering = EventJournal.id.asc() if order == "asc" else EventJournal.id.desc()
    rows = list(session.scalars(query.order_by(ordering).limit(limit + 1)))
    next_cursor = _encode_cursor(order, rows[limit - 1].id) if len(rows) > limit else None
    data = [EventPublic.model_validate(row) for row in rows[:limit]]
    return EventsPublic(data=data, total=total, next_cursor=next_cursor)


@router.post("/token", response_model=StreamToken)
def create_events_token(user: CurrentUser, claims: ClaimsDep, settings: SettingsDep) -> StreamToken:
    """A 5-minute token for `GET /events/stream?token=` and `/events/ws?token=` (browser EventSource/WebSocket)."""
    token = create_stream_token(settings, claims)
    lifetime = int(jwt.decode(token, options={"verify_signature": False})["exp"]) - int(datetime.now(UTC).timestamp())
    return StreamToken(token=token, expires_in=max(lifetime, 0))


@router.get("/stream", response_model=None, include_in_schema=False)
async def stream_events(
    request: Request,
    claims: StreamClaimsDep,
    wanted: TypesDep,
    last_event_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    last_event_id_header: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=2**63 - 1)] = None,
) -> StreamingResponse:
    """Server-sent events of the tenant: journal replay after Last-Event-ID, then live; heartbeat comments."""
    resume = last_event_id_header if last_event_id_header is not None else last_event_id
    hub = await hub_of(request.app)
    return StreamingResponse(
        _sse_body(hub, lease_of(claims), wanted, resume),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse_body(
    hub: EventHub, lease: StreamLease, wanted: frozenset[str] | None, resume: int | None
) -> AsyncIterator[bytes]:
    """SSE frames (`id`, `event`, `data`); everything ready is written at once, so a busy stream costs few writes.
    When the lease ends, a last `stream_closed` event says why (no id: the client resumes from its last event)."""
    async with hub.subscription(lease.claims.tenant_id, wanted, resume) as sub:
        yield f"retry: {RETRY_MILLISECONDS}\n: subscribed from {sub.cursor}\n\n".encode()
        async for batch in hub.batches(sub):
            ended = await lease.ended()
            if ended is not None:
                closing = _dumps({"code": ended.code, "message": ended.message})
                yield f"event: {STREAM_CLOSED}\ndata: {closing}\n\n".encode()
                return
            yield b"".join(event.sse_frame for event in batch) if batch else b": heartbeat\n\n"


@router.websocket("/ws")
async def events_websocket(websocket: WebSocket) -> None:
    """WebSocket of the tenant's events (same semantics as the SSE stream); JSON messages, heartbeats."""
    await websocket.accept()
    params = websocket.query_params
    try:
        claims = await authenticate_stream(
            get_settings(), _bearer_of(websocket.headers.get("authorization")), params.get("token")
        )
    except StreamAuthError as exc:
        await websocket.close(code=WS_UNAUTHORIZED, reason=f"{exc.code}: {exc.message}"[:120])
        return
    try:
        wanted = parse_types(params.get("types"))
        resume = _resume_of(params.get("last_event_id"))
    except APIError as exc:
        await websocket.close(code=1008, reason=exc.message[:120])
        return
    hub = await hub_of(websocket.app)
    async with hub.subscription(claims.tenant_id, wanted, resume) as sub:
        sender = asyncio.create_task(_send_events(websocket, hub, sub, lease_of(claims)))
        receiver = asyncio.create_task(_until_disconnect(websocket))
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending | done:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task
    if websocket.client_state == websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close()


def _bearer_of(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _resume_of(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise invalid("last_event_id", "must be a non-negative integer")
    return int(raw)


async def _send_events(websocket: WebSocket, hub: EventHub, sub: Subscription, lease: StreamLease) -> None:
    await websocket.send_text(_dumps({"type": "subscribed", "last_event_id": sub.cursor}))
    async for event in hub.events(sub):
        ended = await lease.ended()
        if ended is not None:
            await websocket.close(code=WS_UNAUTHORIZED, reason=f"{ended.code}: {ended.message}"[:120])
            return
        if event is None:
            await websocket.send_text(_dumps({"type": "heartbeat", "last_event_id": sub.cursor}))
        else:
            await websocket.send_text(event.data)


async def _until_disconnect(websocket: WebSocket) -> None:
    while True:
        incoming = await websocket.receive()
        if incoming["type"] == "websocket.disconnect":
            return
