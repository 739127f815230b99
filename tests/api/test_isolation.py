"""Isolation on PostgreSQL: every OpenAPI route, called by tenant B with tenant A's ids, shows nothing of A."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from autonomos_pipeline.dcl.llm import get_telemetry
from tests.utils.api import (
    Account,
    add_review_rows,
    add_rows,
    add_user,
    create_connection,
    login,
    register,
)

pytestmark = pytest.mark.postgres

PUBLIC = {
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/login/json"),
}


@dataclass(frozen=True)
class Exercise:
    """How tenant B calls a route: `foreign` routes get A's ids and must answer 404; others must succeed."""

    foreign: bool = False
    json: dict[str, Any] | None = None
    fresh_token: bool = False
    expect: int = 200
    params: dict[str, str] = field(default_factory=dict)


FOREIGN = Exercise(foreign=True)
LIST = Exercise()
EXERCISES: dict[tuple[str, str], Exercise] = {
    ("GET", "/api/v1/auth/me"): LIST,
    ("POST", "/api/v1/auth/logout"): Exercise(fresh_token=True),
    ("GET", "/api/v1/users"): LIST,
    ("POST", "/api/v1/users"): Exercise(
        json={"email": f"b-{uuid.uuid4().hex[:8]}@example.com", "password": "long enough pw"}, expect=201
    ),
    ("GET", "/api/v1/users/{user_id}"): FOREIGN,
    ("PATCH", "/api/v1/users/{user_id}"): Exercise(foreign=True, json={"is_active": False, "role": "viewer"}),
    ("GET", "/api/v1/dcl/views/accounts"): Exercise(params={"q": "ALPHA"}),
    ("GET", "/api/v1/dcl/views/accounts/{account_id}"): FOREIGN,
    ("GET", "/api/v1/dcl/views/opportunities"): LIST,
    ("GET", "/api/v1/dcl/views/opportunities/{opportunity_id}"): FOREIGN,
    ("GET", "/api/v1/dcl/views/contacts"): LIST,
    ("GET", "/api/v1/dcl/views/contacts/{contact_id}"): FOREIGN,
    ("GET", "/api/v1/dcl/graph"): LIST,
    ("GET", "/api/v1/dcl/llm_stats"): LIST,
    ("POST", "/api/v1/dcl/reset_llm_stats"): LIST,
    ("GET", "/api/v1/aam/connections"): LIST,
    ("POST", "/api/v1/aam/connections"): Exercise(
        json={"name": "files", "type": "filesource", "config": {"path": "files"}}, expect=201
    ),
    ("GET", "/api/v1/aam/connections/{connection_id}"): FOREIGN,
    ("PATCH", "/api/v1/aam/connections/{connection_id}"): Exercise(
        foreign=True, json={"name": "stolen", "secrets": {}}
    ),
    ("DELETE", "/api/v1/aam/connections/{connection_id}"): FOREIGN,
    ("POST", "/api/v1/aam/connections/{connection_id}/check"): FOREIGN,
    ("POST", "/api/v1/aam/connections/{connection_id}/discover"): FOREIGN,
    ("GET", "/api/v1/aam/drift-events"): LIST,
    ("GET", "/api/v1/aam/drift-events/{drift_event_id}"): FOREIGN,
    ("GET", "/api/v1/aam/repairs"): LIST,
    ("GET", "/api/v1/aam/repairs/{repair_id}"): FOREIGN,
    ("POST", "/api/v1/aam/repairs/{repair_id}/approve"): FOREIGN,
    ("POST", "/api/v1/aam/repairs/{repair_id}/reject"): FOREIGN,
    ("GET", "/api/v1/aam/mappings"): LIST,
    ("GET", "/api/v1/aam/mappings/{mapping_id}"): FOREIGN,
    ("POST", "/api/v1/aam/mappings/{mapping_id}/activate"): FOREIGN,
    ("POST", "/api/v1/aam/mappings/suggest"): Exercise(expect=422),  # no file; memory isolation: test_review_actions
    ("GET", "/api/v1/aam/quarantine"): LIST,
    ("GET", "/api/v1/aam/quarantine/{record_id}"): FOREIGN,
    ("GET", "/api/v1/events"): Exercise(params={"after_id": "0"}),
    ("POST", "/api/v1/events/token"): LIST,
    # Dagster is not configured here (503 before any tenant data is touched); tests/api/test_runs.py runs a real one
    ("POST", "/api/v1/aoa/run"): Exercise(expect=503),
    ("GET", "/api/v1/aoa/state"): Exercise(expect=503),
    ("POST", "/api/v1/aoa/reset"): Exercise(json={"confirm": "Beta"}, expect=503),
}


@dataclass
class TenantA:
    """Tenant A's users, ids, and every string that would betray its data if B saw it."""

    admin: Account
    ids: dict[str, str]
    markers: set[str]


def _seed_a(client: TestClient) -> TenantA:
    marker = f"ALPHA{uuid.uuid4().hex[:8]}"
    admin = register(client, tenant_name=f"{marker} Corp")
    member = add_user(client, admin, "member")
    connection = create_connection(client, admin, name=f"{marker}-files")
    cid = connection["id"]
    (account,) = add_rows(admin.tenant_id, cid, "account", [{"name": f"{marker} Holdings", "industry": "Software"}])
    (opportunity,) = add_rows(admin.tenant_id, cid, "opportunity", [{"name": f"{marker} deal", "status": "open"}])
    (contact,) = add_rows(admin.tenant_id, cid, "contact", [{"last_name": marker, "email": f"{marker}@a.example"}])
    review = add_review_rows(admin.tenant_id, cid, marker)
    get_telemetry().record_call(str(admin.tenant_id), tokens=4242)
    ids = {
        "user_id": str(member.user_id),
        "connection_id": cid,
        "account_id": account,
        "opportunity_id": opportunity,
        "contact_id": contact,
        "drift_event_id": review["drift_event"],
        "repair_id": review["repair"],
        "mapping_id": review["mapping"],
        "record_id": review["quarantine"],
    }
    markers = {marker, marker.lower(), str(admin.tenant_id), admin.email, member.email, *ids.values()}
    return TenantA(admin, ids, markers)


def _seed_b(client: TestClient) -> Account:
    b = register(client, tenant_name="Beta")
    connection = create_connection(client, b, name="beta-files")
    add_rows(b.tenant_id, connection["id"], "account", [{"name": "Beta account", "industry": "Software"}])
    add_review_rows(b.tenant_id, connection["id"], "BETA")
    return b


def _routes(client: TestClient) -> set[tuple[str, str]]:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_every_route_is_known_to_this_walk(pg_client: TestClient) -> None:
    """A route added without an entry in EXERCISES fails here, so the walk below always covers every route."""
    routes = _routes(pg_client)
    unknown = routes - PUBLIC - set(EXERCISES)
    assert not unknown, f"new routes: add them to EXERCISES in {__file__}: {sorted(unknown)}"
    assert not set(EXERCISES) - routes, "EXERCISES lists routes that no longer exist"


def test_protected_routes_need_a_token(pg_client: TestClient) -> None:
    a = _seed_a(pg_client)
    for method, path in sorted(set(EXERCISES)):
        url = path.format(**a.ids)
        resp = pg_client.request(method, url, json=EXERCISES[(method, path)].json)
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.json()["code"] == "not_authenticated"


def test_tenant_b_sees_nothing_of_tenant_a(pg_client: TestClient) -> None:
    a = _seed_a(pg_client)
    b = _seed_b(pg_client)
    a_connection = f"/api/v1/aam/connections/{a.ids['connection_id']}"
    a_before = {
        "connection": pg_client.get(a_connection, headers=a.admin.headers).json(),
        "user": pg_client.get(f"/api/v1/users/{a.ids['user_id']}", headers=a.admin.headers).json(),
    }
    for (method, path), exercise in sorted(EXERCISES.items()):
        token = login(pg_client, b.email) if exercise.fresh_token else b.token
        url = path.format(**a.ids)
        resp = pg_client.request(
            method, url, json=exercise.json, params=exercise.params, headers={"Authorization": f"Bearer {token}"}
        )
        expected = 404 if exercise.foreign else exercise.expect
        assert resp.status_code == expected, (method, path, resp.status_code, resp.text)
        leaked = [m for m in a.markers if m in resp.text]
        assert not leaked, (method, path, leaked)
        if resp.status_code == 200 and isinstance(resp.json(), dict) and "total" in resp.json() and "users" not in path:
            assert all(row.get("tenant_id") in (None, str(b.tenant_id)) for row in resp.json()["data"])

    # A's objects survived B's writes untouched, and A still sees all of its own data.
    after_connection = pg_client.get(a_connection, headers=a.admin.headers)
    assert after_connection.json() == a_before["connection"]
    assert pg_client.get(f"/api/v1/users/{a.ids['user_id']}", headers=a.admin.headers).json() == a_before["user"]
    for entity in ("accounts", "opportunities", "contacts"):
        own = pg_client.get(f"/api/v1/dcl/views/{entity}", headers=a.admin.headers).json()
        assert own["total"] == 1
    assert pg_client.get("/api/v1/aam/mappings", headers=a.admin.headers).json()["total"] == 1
    assert pg_client.get("/api/v1/dcl/llm_stats", headers=a.admin.headers).json()["tokens"] == 4242
    assert pg_client.get("/api/v1/dcl/llm_stats", headers=b.headers).json()["tokens"] == 0


def test_b_still_sees_its_own_rows(pg_client: TestClient) -> None:
    _seed_a(pg_client)
    b = _seed_b(pg_client)
    accounts = pg_client.get("/api/v1/dcl/views/accounts", params={"industry": "Software"}, headers=b.headers).json()
    assert [r["name"] for r in accounts["data"]] == ["Beta account"] and accounts["total"] == 1
    assert pg_client.get("/api/v1/aam/quarantine", headers=b.headers).json()["total"] == 1


@pytest.mark.redis
def test_views_served_from_the_page_cache_stay_isolated(cached_client: TestClient) -> None:
    client = cached_client
    a = _seed_a(client)
    b = _seed_b(client)
    views = [(path, ex) for (method, path), ex in sorted(EXERCISES.items()) if path.startswith("/api/v1/dcl/views")]
    assert len(views) == 6
    for _ in range(2):  # A reads every view twice: the second read of each is served from the cache
        for path, exercise in views:
            resp = client.get(path.format(**a.ids), params=exercise.params, headers=a.admin.headers)
            assert resp.status_code == 200 and any(m in resp.text for m in a.markers), (path, resp.text)
    assert client.app.state.view_pages.cache.hits == len(views)  # type: ignore[attr-defined]
    for path, exercise in views:  # B asks for exactly the same URLs
        resp = client.get(path.format(**a.ids), params=exercise.params, headers=b.headers)
        assert resp.status_code == (404 if exercise.foreign else 200), (path, resp.status_code)
        assert not [m for m in a.markers if m in resp.text], (path, resp.text)
