"""Health endpoints answer on the embedded defaults and on PostgreSQL + Redis; errors are problem+json."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from autonomos_api.main import create_app
from autonomos_pipeline.dcl.redis_client import close_all
from autonomos_pipeline.dcl.settings import get_settings
from tests.utils.stores import Store


def test_live_and_ready_on_embedded_defaults(sqlite_store: Store) -> None:
    client = TestClient(create_app())
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "not_configured", "dagster": "not_configured"}


@pytest.mark.postgres
@pytest.mark.redis
def test_ready_checks_postgres_and_redis(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTONOMOS_DATABASE_URL", pg_store.app_url)
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    try:
        body = TestClient(create_app()).get("/health/ready").json()
        assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "dagster": "not_configured"}}
    finally:
        close_all()


def test_ready_reports_an_unreachable_dependency(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        resp = TestClient(create_app()).get("/health/ready")
        assert resp.status_code == 503
        assert resp.json()["checks"]["redis"].startswith("error:")
    finally:
        close_all()


def test_unknown_route_is_problem_json() -> None:
    resp = TestClient(create_app()).get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "not_found"
