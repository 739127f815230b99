"""Shared fixtures: a throwaway PostgreSQL database per test run, migrated serving stores, isolated settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import reset_engines, upgrade
from tests.utils.stores import Store

PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_SUPERUSER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")
APP_ROLE = "autonomos_app"
REDIS_URL = os.environ.get("AUTONOMOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _admin_conn(dbname: str = "postgres") -> psycopg2.extensions.connection:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_SUPERUSER, dbname=dbname)
    conn.autocommit = True
    return conn


@contextmanager
def temp_database() -> Iterator[str]:
    """A uniquely named PostgreSQL database (parallel runs cannot collide), dropped when the block exits."""
    name = f"autonomos_test_{uuid.uuid4().hex[:12]}"
    conn = _admin_conn()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    try:
        yield name
    finally:
        conn = _admin_conn()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database for this run, dropped afterwards."""
    with temp_database() as name:
        yield name


def migrated_store(dbname: str) -> Store:
    """The serving store migrated into dbname; the app URL connects as the role row-level security binds."""
    admin_url = f"postgresql+psycopg2://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/{dbname}"
    app_url = f"postgresql+psycopg2://{APP_ROLE}@{PG_HOST}:{PG_PORT}/{dbname}"
    upgrade(admin_url=admin_url, app_url=app_url)
    return Store(admin_url=admin_url, app_url=app_url)


@pytest.fixture(scope="session")
def pg_store(pg_database: str) -> Store:
    """The serving store migrated on PostgreSQL for this run."""
    return migrated_store(pg_database)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    """The serving store migrated on SQLite, the embedded default."""
    url = f"sqlite:///{tmp_path / 'serving.db'}"
    upgrade(admin_url=url, app_url=url)
    return Store(admin_url=url, app_url=url)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own data directory and fresh cached settings and engines."""
    monkeypatch.setenv("AUTONOMOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUTONOMOS_ENVIRONMENT", "test")
    for key in ("AUTONOMOS_DATABASE_URL", "AUTONOMOS_DATABASE_ADMIN_URL", "AUTONOMOS_REDIS_URL"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    reset_engines()
