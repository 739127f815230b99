"""Run the serving store's Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from autonomos_pipeline.dcl.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_APP_ROLE = "autonomos_app"


def alembic_config(admin_url: str, app_role: str | None = None) -> Config:
    """Build the Alembic config for admin_url; app_role is the PostgreSQL role granted access under RLS."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", admin_url.replace("%", "%%"))
    cfg.attributes["app_role"] = app_role or DEFAULT_APP_ROLE
    return cfg


def app_role_for(app_url: str, admin_url: str) -> str:
    """The role the application connects as: the user of the app URL when it differs from the admin's."""
    app_user = make_url(app_url).username
    admin_user = make_url(admin_url).username
    if app_user and app_user != admin_user:
        return app_user
    return DEFAULT_APP_ROLE


def upgrade(admin_url: str | None = None, app_url: str | None = None, revision: str = "head") -> None:
    """Migrate the serving store to revision (default: the configured store, latest revision)."""
    settings = get_settings()
    admin_url = admin_url or settings.admin_url
    app_url = app_url or settings.serving_url
    if admin_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(admin_url, app_role_for(app_url, admin_url)), revision)
