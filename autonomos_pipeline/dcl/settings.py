"""Settings for every external system, read from AUTONOMOS_* environment variables with embedded defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """All configuration; unset values fall back to the embedded defaults (SQLite, DuckDB, no Redis, no LLM)."""

    model_config = SettingsConfigDict(env_prefix="AUTONOMOS_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(Path(".autonomos"), description="holds the SQLite serving store and DuckDB warehouses")
    warehouse_memory_limit: str = Field(
        "512MB", description="DuckDB memory per open tenant warehouse; beyond it DuckDB spills to disk"
    )

    # serving store: SQLite by default; PostgreSQL as postgresql+psycopg2://autonomos_app@host/db
    database_url: str | None = None
    # owner / migration connection (PostgreSQL); defaults to database_url
    database_admin_url: str | None = None

    # Redis: redis:// or rediss:// (TLS); unset means in-process / store-backed fallbacks
    redis_url: str | None = None

    # API security
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_expire_minutes: int = Field(7 * 24 * 60, ge=1)
    credentials_key: SecretStr | None = Field(None, description="Fernet key that encrypts connection secrets")
    cors_origins: list[str] = Field(default_factory=list)
    view_page_cache_mb: int = Field(
        64, ge=0, description="per API process: view pages kept under the tenant's data version (0 = off; needs Redis)"
    )

    # Dagster
    dagster_graphql_url: str | None = Field(None, description="e.g. http://127.0.0.1:3000/graphql")

    # LLM (optional): an OpenAI-compatible endpoint or Gemini
    llm_provider: Literal["none", "openai", "gemini"] = "none"
    llm_model: str | None = None
    llm_timeout_seconds: float = 20.0
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    gemini_api_key: SecretStr | None = None
    gemini_base_url: str | None = None

    # mapping engine
    auto_threshold: float | None = Field(None, ge=0.0, le=1.0, description="overrides the calibrated default")
    share_memory_across_tenants: bool = False
    pinecone_api_key: SecretStr | None = None
    pinecone_host: str | None = None

    # notifications
    slack_webhook_url: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        """Outside development and tests the default JWT secret is refused."""
        if self.environment == "production" and self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET:
            raise ValueError("AUTONOMOS_JWT_SECRET must be set to a non-default value outside development")
        return self

    @property
    def serving_url(self) -> str:
        """The serving store URL the application connects with."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'serving.db').resolve()}"

    @property
    def admin_url(self) -> str:
        """The URL migrations and maintenance connect with."""
        return self.database_admin_url or self.serving_url

    @property
    def warehouse_dir(self) -> Path:
        """Folder of the per-tenant DuckDB warehouse files."""
        return self.data_dir / "warehouse"

    def warehouse_path(self, tenant_id: str) -> Path:
        """The DuckDB file of one tenant."""
        return self.warehouse_dir / f"tenant_{tenant_id}.duckdb"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (tests override with get_settings.cache_clear())."""
    return Settings()
