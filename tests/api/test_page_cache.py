"""The views' page cache: repeats are served whole until the data version changes, never across tenants, never to a
token that was revoked or whose user was deactivated, and every read still journals its `viewed` event."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select, update
from starlette.types import ASGIApp, Receive, Scope, Send

from autonomos_api.main import create_app
from autonomos_api.services.page_cache import PageCache
from autonomos_api.services.version_fence import VersionFence
from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.store import EventJournal, MaterializedAccount, tenant_session
from autonomos_pipeline.dcl.view_cache import auth_version_key, bump_auth_version, bump_data_version, data_version_key
from tests.conftest import REDIS_URL
from tests.utils.api import Account, add_rows, add_user, create_connection, login, point_api_at, register
from tests.utils.stores import Store

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ACCOUNTS = "/api/v1/dcl/views/accounts"


def _tenant_with(client: TestClient, name: str, count: int) -> tuple[Account, str]:
    admin = register(client, name)
    connection = create_connection(client, admin)
    rows = [{"name": f"{name} {i:03d}", "industry": "Software"} for i in range(count)]
    add_rows(admin.tenant_id, connection["id"], "account", rows)
    return admin, connection["id"]


def _hide_one_without_bump(tenant_id: uuid.UUID) -> None:
    """Delete-mark one row behind the API's back (a writer that breaks the contract: it does not bump)."""
    with tenant_session(tenant_id) as session:
        row = session.scalars(select(MaterializedAccount).where(MaterializedAccount.is_deleted.is_(False))).first()
        assert row is not None
        session.execute(update(MaterializedAccount).where(MaterializedAccount.id == row.id).values(is_deleted=True))


def _names(client: TestClient, who: Account, **params: str) -> list[str]:
    resp = client.get(ACCOUNTS, params=params, headers=who.headers)
    assert resp.status_code == 200, resp.text
    return [row["name"] for row in resp.json()["data"]]


def _hits(client: TestClient) -> int:
    hits: int = client.app.state.view_pages.cache.hits  # type: ignore[attr-defined]
    return hits


def test_a_repeated_read_is_served_whole_until_the_data_version_changes(cached_client: TestClient) -> None:
    admin, _ = _tenant_with(cached_client, "Paged", 4)
    first = cached_client.get(ACCOUNTS, params={"limit": 3}, headers=admin.headers)
    assert len(first.content) >= 1024 and first.headers["vary"] == "accept-encoding"
    _hide_one_without_bump(admin.tenant_id)
    identity = {**admin.headers, "Accept-Encoding": "identity"}
    again = cached_client.get(ACCOUNTS, params={"limit": 3}, headers=identity)
    assert again.content == first.content, "the same bytes: served from the cache of the unchanged version"
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert int(again.headers["content-length"]) == len(first.content) and "content-encoding" not in again.headers
    gzipped = cached_client.get(ACCOUNTS, params={"limit": 3}, headers={**admin.headers, "Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip", "compressed once when stored, for clients that accept it"
    assert int(gzipped.headers["content-length"]) < len(first.content) and gzipped.content == first.content
    refused = {**admin.headers, "Accept-Encoding": "gzip;q=0, identity"}
    assert "content-encoding" not in cached_client.get(ACCOUNTS, params={"limit": 3}, headers=refused).headers
    assert _hits(cached_client) == 3

    bump_data_version(admin.tenant_id)
    fresh = cached_client.get(ACCOUNTS, params={"limit": 3}, headers=admin.headers).json()
    assert fresh["total"] == 3 and len(fresh["data"]) == 3, "a new version is read from the store"


def test_rows_written_through_the_platform_are_seen_at_once(cached_client: TestClient) -> None:
    admin, connection = _tenant_with(cached_client, "Growing", 1)
    assert _names(cached_client, admin) == ["Growing 000"]
    add_rows(admin.tenant_id, connection, "account", [{"name": "Growing 001", "industry": "Software"}])
    assert _names(cached_client, admin) == ["Growing 000", "Growing 001"]


def test_every_read_from_the_cache_journals_its_viewed_event(cached_client: TestClient) -> None:
    admin, _ = _tenant_with(cached_client, "Journaled", 3)
    member = add_user(cached_client, admin, "viewer")
    for who in (admin, admin, member):
        assert len(_names(cached_client, who, industry="Software", limit="2")) == 2
    cached_client.app.state.view_journal.flush()  # type: ignore[attr-defined]
    with tenant_session(admin.tenant_id) as session:
        rows = session.scalars(select(EventJournal).where(EventJournal.type == "viewed").order_by(EventJournal.id))
        events = [row.payload for row in rows]
    expected = {"entity": "account", "rows": 2, "total": 3, "filters": {"industry": "Software"}}
    assert events == [
        {"user_id": str(admin.user_id), **expected},
        {"user_id": str(admin.user_id), **expected},
        {"user_id": str(member.user_id), **expected},
    ], "one event per read, each naming its own reader"


def test_pages_are_never_shared_across_tenants(cached_client: TestClient) -> None:
    alpha, _ = _tenant_with(cached_client, "Alpha", 2)
    beta, _ = _tenant_with(cached_client, "Beta", 3)
    for _ in range(2):  # the second round is served from the cache
        assert _names(cached_client, alpha, limit="5") == ["Alpha 000", "Alpha 001"]
        assert _names(cached_client, beta, limit="5") == ["Beta 000", "Beta 001", "Beta 002"]
    assert _hits(cached_client) == 2


def test_a_revoked_token_is_refused_even_for_a_cached_page(cached_client: TestClient) -> None:
    admin, _ = _tenant_with(cached_client, "Leaving", 2)
    for _ in range(2):
        assert len(_names(cached_client, admin)) == 2
    assert _hits(cached_client) == 1, "the page and the token's acceptance are cached"
    assert cached_client.post("/api/v1/auth/logout", headers=admin.headers).status_code == 200
    resp = cached_client.get(ACCOUNTS, headers=admin.headers)
    assert resp.status_code == 401 and resp.json()["code"] == "token_revoked"


def test_a_deactivated_user_is_refused_even_for_a_cached_page(cached_client: TestClient) -> None:
    admin, _ = _tenant_with(cached_client, "Firing", 2)
    member = add_user(cached_client, admin, "member")
    for _ in range(2):
        assert len(_names(cached_client, member)) == 2
    assert _hits(cached_client) == 1, "the page and the token's acceptance are cached"
    resp = cached_client.patch(f"/api/v1/users/{member.user_id}", json={"is_active": False}, headers=admin.headers)
    assert resp.status_code == 200, resp.text
    resp = cached_client.get(ACCOUNTS, headers=member.headers)
    assert resp.status_code == 401 and resp.json()["code"] == "invalid_token"
    assert len(_names(cached_client, admin)) == 2, "other users of the tenant are still served"


def test_errors_and_foreign_ids_are_not_cached(cached_client: TestClient) -> None:
    alpha, _ = _tenant_with(cached_client, "Owner", 1)
    beta = register(cached_client, "Stranger")
    row_id = cached_client.get(ACCOUNTS, headers=alpha.headers).json()["data"][0]["id"]
    for _ in range(2):
        assert cached_client.get(f"{ACCOUNTS}/{row_id}", headers=alpha.headers).status_code == 200
        assert cached_client.get(f"{ACCOUNTS}/{row_id}", headers=beta.headers).status_code == 404
        assert cached_client.get(ACCOUNTS, params={"limit": 0}, headers=alpha.headers).status_code == 422
    assert _hits(cached_client) == 1, "only the owner's second read of its own row"


# the parts on their own ---------------------------------------------------------------------------------------------


def test_the_cache_evicts_the_least_recently_used_pages_beyond_its_bytes() -> None:
    cache = PageCache(max_bytes=3 * (1000 + 1024))  # bodies below GZIP_MIN_BYTES: no compressed copy
    for name in ("a", "b", "c"):
        cache.store(("t", name, b""), "v1", [], b"x" * 1000, {})
    assert cache.page(("t", "a", b""), "v1") is not None  # a is now the most recently used
    cache.store(("t", "d", b""), "v1", [], b"x" * 1000, {})
    assert cache.page(("t", "b", b""), "v1") is None, "b was the least recently used"
    assert all(cache.page(("t", k, b""), "v1") is not None for k in ("a", "c", "d"))
    assert cache.page(("t", "a", b""), "v2") is None, "a page answers only for the version it was made at"
    assert cache.bytes == 3 * (1000 + 1024) and len(cache) == 3


def test_pages_and_acceptances_expire() -> None:
    now = [0.0]
    cache = PageCache(max_bytes=10_000, clock=lambda: now[0])
    cache.store(("t", "p", b""), "v", [], b"{}", {})
    cache.accept("jti", "a1")
    assert cache.page(("t", "p", b""), "v") is not None and cache.accepted("jti", "a1")
    assert not cache.accepted("jti", "a2"), "an acceptance stands only at its auth version"
    now[0] = 61.0
    assert not cache.accepted("jti", "a1"), "after a minute the route checks the token again (a failed auth bump)"
    assert cache.page(("t", "p", b""), "v") is not None, "pages live longer: data bumps are retried"
    now[0] = 301.0
    assert cache.page(("t", "p", b""), "v") is None


class _FlakyRedis:
    """A real Redis client whose first `fails` SETs raise a connection error, as a Redis blip would."""

    def __init__(self, fails: int) -> None:
        self.client = get_redis(REDIS_URL)
        self.fails = fails

    def set(self, key: str, value: str) -> object:
        if self.fails:
            self.fails -= 1
            raise RedisConnectionError("connection reset by peer")
        assert self.client is not None
        return self.client.set(key, value)


def test_a_version_bump_survives_a_redis_blip() -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    client = get_redis(REDIS_URL)
    assert client is not None
    assert bump_data_version(tenant, _FlakyRedis(fails=2))  # type: ignore[arg-type]
    assert bump_auth_version(user, _FlakyRedis(fails=1))  # type: ignore[arg-type]
    assert client.get(data_version_key(tenant)) is not None and client.get(auth_version_key(user)) is not None
    assert not bump_data_version(tenant, _FlakyRedis(fails=3)), "a Redis that stays down is reported"  # type: ignore[arg-type]


def test_the_fence_sees_every_bump_made_before_a_read_and_coalesces_reads() -> None:
    tenant = uuid.uuid4()
    key = data_version_key(tenant)

    async def run() -> None:
        fence = VersionFence(REDIS_URL)
        try:
            (created,) = await fence.read([key]) or ("",)
            assert created, "a missing version is created"
            bump_data_version(tenant, get_redis(REDIS_URL))
            (after,) = await fence.read([key]) or ("",)
            assert after != created and after == get_redis(REDIS_URL).get(key)  # type: ignore[union-attr]
            before = fence.round_trips
            results = await asyncio.gather(*(fence.read([key, f"{key}:other"]) for _ in range(200)))
            assert len({r for r in results}) == 1 and results[0] is not None and results[0][0] == after
            assert fence.round_trips - before <= 2, "200 concurrent reads share a round trip or two"
        finally:
            await fence.close()

    asyncio.run(run())
    get_redis(REDIS_URL).delete(key, f"{key}:other")  # type: ignore[union-attr]


def test_the_fence_answers_none_when_redis_is_unreachable() -> None:
    async def run() -> tuple[str, ...] | None:
        fence = VersionFence("redis://127.0.0.1:1/0")
        try:
            started = time.monotonic()
            result = await fence.read(["autonomos:data_version:nowhere"])
            assert time.monotonic() - started < 10
            return result
        finally:
            await fence.close()

    assert asyncio.run(run()) is None


def test_a_second_authorization_header_never_reaches_the_cache(cached_client: TestClient) -> None:
    victim, _ = _tenant_with(cached_client, "Victim", 2)
    attacker, _ = _tenant_with(cached_client, "Attacker", 1)
    revoked = victim.headers["Authorization"]
    assert cached_client.post("/api/v1/auth/logout", headers=victim.headers).status_code == 200
    both = [("Authorization", attacker.headers["Authorization"]), ("Authorization", revoked)]
    for _ in range(2):  # the route answers for the first token; the cache must not file that under the second
        resp = cached_client.get(ACCOUNTS, headers=both)
        assert resp.status_code == 200 and [r["name"] for r in resp.json()["data"]] == ["Attacker 000"]
    resp = cached_client.get(ACCOUNTS, headers={"Authorization": revoked})
    assert resp.status_code == 401 and resp.json()["code"] == "token_revoked"
    fresh = {"Authorization": f"Bearer {login(cached_client, victim.email)}"}
    names = [r["name"] for r in cached_client.get(ACCOUNTS, headers=fresh).json()["data"]]
    assert names == ["Victim 000", "Victim 001"], "the victim's page was never filed with the attacker's rows"


def test_the_fence_gives_up_on_a_redis_that_does_not_answer() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]

        async def timed() -> tuple[float, tuple[str, ...] | None]:
            fence = VersionFence(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.3)
            started = time.monotonic()
            try:
                result = await fence.read(["autonomos:data_version:silent"])
                return time.monotonic() - started, result
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(fence.close(), 1)

        elapsed, result = asyncio.run(timed())
    assert result is None and elapsed < 3, "answered None (the route takes over) instead of waiting on Redis"


def test_cross_origin_reads_are_served_from_the_cache_with_their_cors_headers(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same-origin reads are answered before the middleware stack; reads with an Origin inside CORS, headers and all."""
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("AUTONOMOS_CORS_ORIGINS", '["https://app.example"]')
    point_api_at(pg_store.app_url, monkeypatch)
    app = create_app()
    stacked: list[bool] = []  # per views request through the middleware stack: whether it named an Origin

    class Recorder:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == ACCOUNTS:
                stacked.append(any(name == b"origin" for name, _ in scope["headers"]))
            await self.inner(scope, receive, send)

    app.add_middleware(Recorder)  # outermost of the stack
    with TestClient(app) as client:
        admin, _ = _tenant_with(client, "Browser", 3)
        plain = client.get(ACCOUNTS, headers=admin.headers)
        assert "access-control-allow-origin" not in plain.headers
        browser = {**admin.headers, "Origin": "https://app.example"}
        for _ in range(2):
            crossed = client.get(ACCOUNTS, headers=browser)
            assert crossed.status_code == 200 and crossed.content == plain.content
            assert crossed.headers["access-control-allow-origin"] == "https://app.example"
        stranger = client.get(ACCOUNTS, headers={**admin.headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        assert client.get(ACCOUNTS, headers=admin.headers).content == plain.content
        assert _hits(client) == 4, "every read after the first came from the cache, with or without an Origin"
        assert stacked == [False, True, True, True], "the same-origin hit was answered before the stack"
        journal = client.app.state.view_journal  # type: ignore[attr-defined]
        journal.flush()
    close_all()
    with tenant_session(admin.tenant_id) as session:
        viewed = session.scalars(select(EventJournal).where(EventJournal.type == "viewed")).all()
    assert len(viewed) == 5, "each of the five reads journaled its viewed event"
