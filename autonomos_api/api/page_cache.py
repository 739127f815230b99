"""ASGI middleware that answers repeated view reads from the process's page cache, and fills it from the routes.

Only GET requests under /api/v1/dcl/views/ with a valid bearer token are considered. The tenant's data version and
the user's auth version are read from Redis (one coalesced round trip); the request is answered here when this
process holds the page for (tenant, path, query) at that data version and a views route accepted the same token at
that auth version. It still records its `viewed` event. Everything else goes to the route, whose successful answer
is kept under the versions read before it ran (so nothing is kept under a version newer than what the route saw).
Without Redis, or when the versions cannot be read, every request goes to the route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from autonomos_api.core.config import get_settings
from autonomos_api.core.security import TokenClaims, verified_claims
from autonomos_api.services.page_cache import PageCache, PageKey
from autonomos_api.services.version_fence import VersionFence
from autonomos_api.services.view_journal import ViewJournal
from autonomos_pipeline.dcl.view_cache import auth_version_key, data_version_key

__all__ = ["HANDLED_SCOPE", "VIEW_CLAIMS_STATE", "VIEW_EVENT_STATE", "PageCacheMiddleware", "ViewPages"]

VIEWS_PREFIX = "/api/v1/dcl/views/"
VIEW_EVENT_STATE = "view_event"  # request.state attribute where a views route leaves its `viewed` payload
VIEW_CLAIMS_STATE = "view_claims"  # ... and the token claims it checked
HANDLED_SCOPE = "autonomos.page_cache"  # set in the scope by the instance that handles the request


@dataclass(frozen=True)
class ReaderKeys:
    """A token's strings the hot path needs, built once per token: tenant, user, and their version keys."""

    tenant: str
    user: str
    versions: tuple[str, str]  # (the tenant's data version key, the user's auth version key)


@dataclass
class ViewPages:
    """What the middleware serves from: the cache, the version fence and the journal of `viewed` events."""

    cache: PageCache
    fence: VersionFence
    journal: ViewJournal
    _keys: dict[str, ReaderKeys] = field(default_factory=dict)

    def keys(self, claims: TokenClaims) -> ReaderKeys:
        """The reader keys of a verified token."""
        keys = self._keys.get(claims.jti)
        if keys is None:
            if len(self._keys) >= 100_000:
                self._keys.clear()
            tenant, user = str(claims.tenant_id), str(claims.user_id)
            keys = self._keys[claims.jti] = ReaderKeys(tenant, user, (data_version_key(tenant), auth_version_key(user)))
        return keys


@dataclass(frozen=True)
class RequestHeaders:
    """What the cache reads of a request's headers."""

    token: str | None  # the bearer token; None when absent, not a bearer, or sent more than once
    gzip_ok: bool  # the client accepts gzip
    cross_origin: bool  # the request names an Origin (a browser's; CORS headers may be due)


def _request_headers(scope: Scope) -> RequestHeaders:
    """The request's bearer token, whether it accepts gzip, and whether it carries an Origin header.

    A request with several Authorization headers is never served from or stored into the cache: the route reads
    the first, and the cache must never file a page under a token the route did not check.
    """
    tokens: list[str | None] = []
    gzip_ok = cross_origin = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            tokens.append(rest.strip() if scheme.lower() == "bearer" and rest.strip() else None)
        elif name == b"accept-encoding":
            gzip_ok = _accepts_gzip(value.decode("latin-1"))
        elif name == b"origin":
            cross_origin = True
    return RequestHeaders(tokens[0] if len(tokens) == 1 else None, gzip_ok, cross_origin)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value admits gzip (gzip or *, with a quality above zero)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower()
        if not quality.startswith("q="):
            return True
        try:
            return float(quality[2:]) > 0
        except ValueError:
            return False
    return False


def _claims(token: str | None) -> TokenClaims | None:
    if token is None:
        return None
    try:
        return verified_claims(get_settings(), token)
    except jwt.InvalidTokenError:
        return None  # the route answers with the precise 401


class PageCacheMiddleware:
    """Serve view pages from the page cache when the versions allow; keep the routes' successful pages.

    The application runs two of these. The front one (`front=True`) sits before the whole middleware stack, so a
    hit costs no more than the cache lookup; it leaves requests carrying an Origin header to the inner one, which
    sits inside CORS so that cross-origin answers get their CORS headers. A request is handled by one of them only.
    A hit answered by the front instance passes no other middleware, so middleware that must see every request
    belongs outside the application (as uvicorn's proxy headers do).
    """

    def __init__(self, app: ASGIApp, *, front: bool = False) -> None:
        self.app = app
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(VIEWS_PREFIX)
            or scope.get(HANDLED_SCOPE)
        ):
            await self.app(scope, receive, send)
            return
        pages: ViewPages | None = getattr(scope["app"].state, "view_pages", None)
        if pages is None:
            await self.app(scope, receive, send)
            return
        headers = _request_headers(scope)
        if self.front and headers.cross_origin:
            await self.app(scope, receive, send)  # the inner instance answers it inside CORS
            return
        scope[HANDLED_SCOPE] = True
        claims = _claims(headers.token)
        if claims is None:
            await self.app(scope, receive, send)
            return
        reader = pages.keys(claims)
        versions = await pages.fence.read(reader.versions)
        if versions is None:
            await self.app(scope, receive, send)
            return
        data_version, auth_version = versions
        key: PageKey = (reader.tenant, scope["path"], scope["query_string"])
        page = pages.cache.page(key, data_version) if pages.cache.accepted(claims.jti, auth_version) else None
        if page is not None:
            pages.journal.record(claims.tenant_id, {"user_id": reader.user, **page.event})
            if headers.gzip_ok and page.gzip_body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": page.gzip_headers})
                await send({"type": "http.response.body", "body": page.gzip_body})
            else:
                await send({"type": "http.response.start", "status": 200, "headers": page.headers})
                await send({"type": "http.response.body", "body": page.body})
            return
        await self._fill(pages, key, claims, data_version, auth_version, scope, receive, send)

    async def _fill(
        self,
        pages: ViewPages,
        key: PageKey,
        claims: TokenClaims,
        data_version: str,
        auth_version: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Let the route answer; keep its answer when it is a whole 200 that left its `viewed` payload behind."""
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                # the same URL may later be answered gzip-compressed from the cache: caches downstream must know
                message = {**message, "headers": [*message.get("headers", []), (b"vary", b"accept-encoding")]}
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        state = scope.get("state", {})
        event = state.get(VIEW_EVENT_STATE)
        if start.get("status") != 200 or not isinstance(event, dict) or state.get(VIEW_CLAIMS_STATE) != claims:
            return  # not a whole page, or the route checked other claims than these: keep nothing
        pages.cache.accept(claims.jti, auth_version)  # the route checked the user and the token after the read
        headers = [(bytes(name), bytes(value)) for name, value in start.get("headers", [])]
        pages.cache.store(key, data_version, headers, b"".join(body), _without_reader(event))


def _without_reader(event: dict[str, Any]) -> dict[str, Any]:
    """The payload minus its user_id: a hit records its own reader."""
    return {name: value for name, value in event.items() if name != "user_id"}


def new_view_pages(redis_url: str | None, max_mb: int, journal: ViewJournal) -> ViewPages | None:
    """The page cache of this process, or None when it is off (no Redis, or no memory given to it)."""
    if not redis_url or max_mb <= 0:
        return None
    return ViewPages(PageCache(max_mb * 1024 * 1024), VersionFence(redis_url), journal)
