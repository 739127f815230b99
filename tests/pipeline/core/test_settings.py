"""Settings: embedded defaults, refusal of the default JWT secret in production, Redis URLs and one pool per process."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from autonomos_pipeline.dcl.redis_client import close_all, get_redis
from autonomos_pipeline.dcl.settings import Settings, get_settings


def test_embedded_defaults_need_nothing(tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.serving_url.startswith("sqlite:///") and settings.serving_url.endswith("serving.db")
    assert settings.redis_url is None and settings.llm_provider == "none"
    assert settings.warehouse_path("t1").name == "tenant_t1.duckdb"
    assert get_redis() is None


def test_production_refuses_the_default_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTONOMOS_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()
    monkeypatch.setenv("AUTONOMOS_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert Settings().environment == "production"


def test_every_external_system_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTONOMOS_DATABASE_URL", "postgresql+psycopg2://autonomos_app@db:5432/autonomos")
    monkeypatch.setenv("AUTONOMOS_REDIS_URL", "rediss://:pw@cache.example:6380/0")
    monkeypatch.setenv("AUTONOMOS_LLM_PROVIDER", "openai")
    monkeypatch.setenv("AUTONOMOS_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    s = Settings()
    assert s.serving_url.startswith("postgresql") and s.admin_url == s.serving_url
    assert s.redis_url and s.redis_url.startswith("rediss://")
    assert s.llm_provider == "openai" and s.openai_base_url == "http://127.0.0.1:9/v1"


def test_rediss_url_uses_tls_and_one_pool_per_process() -> None:
    try:
        client = get_redis("rediss://:pw@cache.example:6380/0")
        assert client is not None
        assert client.connection_pool.connection_class is redis.SSLConnection
        assert get_redis("rediss://:pw@cache.example:6380/0") is client
    finally:
        close_all()


@pytest.mark.redis
def test_real_redis_round_trip() -> None:
    try:
        client = get_redis("redis://127.0.0.1:6379/0")
        assert client is not None and client.ping() is True
    finally:
        close_all()
