"""Database access for the API: the serving-store engine of the configured settings."""

from sqlalchemy import Engine

from autonomos_pipeline.dcl.store import get_engine


def api_engine() -> Engine:
    """The engine requests use (the application role on PostgreSQL)."""
    return get_engine()
