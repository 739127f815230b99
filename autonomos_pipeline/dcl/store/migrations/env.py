"""Alembic environment of the serving store: runs migrations online against the configured admin URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import ForeignKeyConstraint, engine_from_config, pool

from autonomos_pipeline.dcl.store.models import (
    ENFORCED_BY_TRIGGERS_ON_POSTGRESQL,
    SERVING_PARTITION,
    TENANT_KEY_IMPLIED_INDEXES,
    Base,
)

config = context.config
target_metadata = Base.metadata


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Autogenerate on PostgreSQL leaves alone the foreign keys migration 0007 replaced with triggers, the serving
    tables' partitions (migration 0008) and the view indexes built there with tenant_id last (0009)."""
    if type_ == "table" and reflected and name is not None and SERVING_PARTITION.match(name):
        return False
    on_postgresql = context.get_bind().dialect.name == "postgresql"
    if type_ == "index" and on_postgresql and name in TENANT_KEY_IMPLIED_INDEXES:
        return False
    if type_ != "foreign_key_constraint" or reflected or not isinstance(obj, ForeignKeyConstraint):
        return True
    return not (on_postgresql and any(fk.info.get(ENFORCED_BY_TRIGGERS_ON_POSTGRESQL) for fk in obj.elements))


def run_migrations_online() -> None:
    """Run migrations in a transaction on one connection."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=_include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
