"""`autonomos materialize --tenant T`: materialize the tenant's partition of every asset, layer by layer."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster import AssetsDefinition

LAYERS = ("raw", "mapping", "canonical", "materialized")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `materialize`."""
    mat = subparsers.add_parser("materialize", help="materialize a tenant's partition of every asset")
    mat.add_argument("--tenant", required=True, help="tenant id (a partition of `tenants`)")
    mat.set_defaults(func=run_materialize)


def run_materialize(args: argparse.Namespace) -> int:
    """Run each layer's assets for the tenant against the configured Dagster instance, printing progress."""
    return materialize_tenant(args.tenant)


def materialize_tenant(tenant: str, layers: Sequence[str] = LAYERS) -> int:
    """Materialize the tenant's partition of the given layers in order; 0 on success."""
    import dagster as dg

    from autonomos_pipeline.dcl.dagster_home import ensure_dagster_home
    from autonomos_pipeline.dcl.store import upgrade
    from autonomos_pipeline.definitions import defs

    upgrade()
    ensure_dagster_home()
    resources = defs.resources or {}
    with dg.DagsterInstance.get() as instance:
        if tenant not in instance.get_dynamic_partitions("tenants"):
            print(f"error: {tenant} is not a tenant partition (autonomos tenants list)", file=sys.stderr)
            return 2
        partitioned = [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)]
        groups = [(g, [a for a in partitioned if _group(a) == g]) for g in layers]
        groups = [(g, assets) for g, assets in groups if assets]
        for i, (group, assets) in enumerate(groups, start=1):
            started = time.monotonic()
            print(f"[{i}/{len(groups)}] {group}: {', '.join(_names(assets))} ...", flush=True)
            result = dg.materialize(
                assets,
                partition_key=tenant,
                instance=instance,
                resources=resources,
                raise_on_error=False,
            )
            for name in _names(assets):
                for mat in result.asset_materializations_for_node(name):
                    rows = mat.metadata.get("rows")
                    print(f"      {name}: {getattr(rows, 'value', '-')} rows", flush=True)
            if not result.success:
                print(f"      {group} failed: see the run {result.run_id} in the Dagster UI", file=sys.stderr)
                return 1
            print(f"      done in {time.monotonic() - started:.1f}s (run {result.run_id})", flush=True)
    return 0


def _group(asset: AssetsDefinition) -> str | None:
    return next(iter(asset.group_names_by_key.values()), None)


def _names(assets: Sequence[AssetsDefinition]) -> list[str]:
    return sorted(k.to_user_string() for a in assets for k in a.keys)
