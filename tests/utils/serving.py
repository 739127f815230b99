"""Drive a tenant's assets through a real Dagster materialization and read what the serving store then holds."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from sqlalchemy import select

from autonomos_pipeline.dcl.serve import MaterializeReport, materialize_entity
from autonomos_pipeline.dcl.store import MaterializedAccount, tenant_session
from autonomos_pipeline.definitions import defs
from autonomos_pipeline.defs.resources import ServingStoreResource, WarehouseResource
from tests.utils.stores import Store

ACCOUNTS_TABLE = MaterializedAccount.__table__
#: the assets up to the canonical accounts (a test then materializes them itself)
UP_TO_CANONICAL = {"raw_filesource", "stream_mappings", "canonical_accounts"}


def run_assets(
    store: Store, data_dir: Path, tenant: uuid.UUID, assets: list[dg.AssetsDefinition] | None = None
) -> dg.ExecuteInProcessResult:
    """Materialize the tenant's partition of the assets (all of them by default) in a test Dagster instance; the
    result says whether it succeeded."""
    if assets is None:
        assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [str(tenant)])
        return dg.materialize(
            assets,
            partition_key=str(tenant),
            instance=instance,
            resources={
                "serving_store": ServingStoreResource(database_url=store.app_url),
                "warehouse": WarehouseResource(data_dir=str(data_dir)),
            },
            raise_on_error=False,
        )


def materialize_assets(store: Store, data_dir: Path, tenant: uuid.UUID, names: set[str] | None = None) -> None:
    """run_assets for every asset (or those named), which must succeed."""
    assets = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
    if names:
        assets = [a for a in assets if a.key.path[-1] in names]
    assert run_assets(store, data_dir, tenant, assets).success


def accounts_folder(tmp_path: Path, name: str, accounts: str) -> Path:
    """A FileSource folder holding accounts.csv with the given text (replacing an earlier one)."""
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "accounts.csv").write_text(accounts)
    return folder


def tenant_warehouse(data_dir: Path, tenant: uuid.UUID) -> duckdb.DuckDBPyConnection:
    """The tenant's DuckDB warehouse under data_dir."""
    return duckdb.connect(str(data_dir / "warehouse" / f"tenant_{tenant}.duckdb"))


def serve_accounts(store: Store, data_dir: Path, tenant: uuid.UUID, systems: dict[str, str]) -> MaterializeReport:
    """Ingest and canonicalize through the assets, then materialize the accounts directly to see the report."""
    materialize_assets(store, data_dir, tenant, UP_TO_CANONICAL)
    with tenant_warehouse(data_dir, tenant) as con:
        return materialize_entity(con, store.app_engine, str(tenant), "account", systems)


def unmaterialize(data_dir: Path, tenant: uuid.UUID) -> None:
    """Make every canonical batch pending again, as if it had never been served."""
    with tenant_warehouse(data_dir, tenant) as con:
        con.execute("UPDATE canonical_batches SET materialized_at = NULL")


def served_accounts(store: Store, tenant: uuid.UUID) -> dict[tuple[uuid.UUID, str], dict[str, Any]]:
    """The tenant's served accounts by (connection, account id), as the application role reads them."""
    with tenant_session(tenant, store.app_engine) as s:
        rows = [r._asdict() for r in s.execute(select(ACCOUNTS_TABLE))]
    served = {(r["connection_id"], r["account_id"]): r for r in rows}
    assert len(served) == len(rows)
    return served


def without_materialized_at(rows: dict[tuple[uuid.UUID, str], dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The rows without the time they were served (which differs between two loads of the same rows)."""
    return {k: {c: v for c, v in r.items() if c != "materialized_at"} for k, r in rows.items()}
