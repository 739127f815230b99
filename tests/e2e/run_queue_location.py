"""A tiny code location for the run-queue test: one tenant-partitioned asset that holds its run for a few seconds."""

import time

import dagster as dg

HOLD_SECONDS = 15.0  # long enough for tenant B's run to start while A's first still holds, even on a loaded machine

tenants = dg.DynamicPartitionsDefinition(name="tenants")


@dg.asset(partitions_def=tenants, group_name="run_queue", kinds={"python"})
def tenant_hold(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Occupy the tenant's run slot for HOLD_SECONDS."""
    time.sleep(HOLD_SECONDS)
    return dg.MaterializeResult(metadata={"tenant": context.partition_key, "held_seconds": HOLD_SECONDS})


tenant_hold_job = dg.define_asset_job("tenant_hold_job", selection=[tenant_hold], partitions_def=tenants)

defs = dg.Definitions(assets=[tenant_hold], jobs=[tenant_hold_job])
