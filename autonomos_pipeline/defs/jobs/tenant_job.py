"""tenant_job: every tenant-partitioned asset for one tenant's partition (what the API's POST /aoa/run launches)."""

import dagster as dg

from autonomos_pipeline.defs.partitions import tenants

tenant_job = dg.define_asset_job(
    "tenant_job",
    selection=dg.AssetSelection.all(),
    partitions_def=tenants,
    description="Read the tenant's sources, map, canonicalize and materialize them: the whole pipeline of one tenant.",
    tags={"autonomos/job": "tenant"},
)
