"""The code location loads: the tenants partitions, resources, and every asset wired."""

from __future__ import annotations

import dagster as dg

from autonomos_pipeline.definitions import defs
from autonomos_pipeline.defs.partitions import tenants


def test_definitions_load_with_resources() -> None:
    repo = defs.get_repository_def()
    assert {"serving_store", "warehouse"} <= set(repo.get_top_level_resources())
    assert isinstance(tenants, dg.DynamicPartitionsDefinition) and tenants.name == "tenants"


def test_tenant_partitions_live_in_the_instance() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", ["t-1", "t-2"])
        assert tenants.get_partition_keys(dynamic_partitions_store=instance) == ["t-1", "t-2"]
