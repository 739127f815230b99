"""Dagster resources: the serving store and the per-tenant DuckDB warehouse."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import get_engine, tenant_session
from autonomos_pipeline.dcl.warehouse import open_warehouse


class ServingStoreResource(dg.ConfigurableResource):
    """The SQLAlchemy serving store; sessions are bound to one tenant (row-level security on PostgreSQL)."""

    database_url: str | None = None

    @property
    def engine(self) -> Engine:
        """The shared engine (the configured store when database_url is unset)."""
        return get_engine(self.database_url)

    @contextmanager
    def session(self, tenant_id: uuid.UUID | str) -> Iterator[Session]:
        """A transaction that sees and writes only tenant_id's rows."""
        with tenant_session(tenant_id, self.engine) as s:
            yield s


class WarehouseResource(dg.ConfigurableResource):
    """One DuckDB file per tenant: isolation, and tenants can run in parallel with a single writer each."""

    data_dir: str | None = None

    def path(self, tenant_id: str) -> Path:
        """The tenant's DuckDB file."""
        base = Path(self.data_dir) if self.data_dir else get_settings().data_dir
        folder = base / "warehouse"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"tenant_{uuid.UUID(tenant_id)}.duckdb"

    @contextmanager
    def connect(self, tenant_id: str, wait_seconds: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the tenant's warehouse, waiting while another process (a CLI run, say) holds its single writer lock."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                con = open_warehouse(self.path(tenant_id))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        try:
            yield con
        finally:
            con.close()


defs = dg.Definitions(
    resources={
        "serving_store": ServingStoreResource(),
        "warehouse": WarehouseResource(),
    },
    # One tenant's steps share its DuckDB file (a single writer) and the mapping engine's model: run them in one
    # process, in order. Tenants run in parallel as separate runs (see dagster.yaml's per-tenant run limit).
    executor=dg.in_process_executor,
)
