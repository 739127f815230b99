"""API fixtures: an application on a migrated SQLite store (default), on PostgreSQL with row-level security, and on
PostgreSQL with Redis (cached totals and view pages)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from autonomos_api.main import create_app
from autonomos_pipeline.dcl.redis_client import close_all
from tests.conftest import REDIS_URL
from tests.utils.api import point_api_at
from tests.utils.stores import Store


@pytest.fixture
def client(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API on a fresh, migrated SQLite serving store."""
    point_api_at(sqlite_store.app_url, monkeypatch)
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def pg_client(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API connected to PostgreSQL as the application role that row-level security binds."""
    point_api_at(pg_store.app_url, monkeypatch)
    with TestClient(create_app()) as test_client:
        yield test_client
    close_all()


@pytest.fixture
def cached_client(pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API on PostgreSQL with Redis configured: view totals and view pages are cached."""
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", REDIS_URL)
    point_api_at(pg_store.app_url, monkeypatch)
    with TestClient(create_app()) as test_client:
        yield test_client
    close_all()
