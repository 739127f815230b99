"""Registers a tenant as a partition of the Dagster dynamic partitions definition `tenants`."""

from __future__ import annotations

import logging
import os
import uuid

log = logging.getLogger(__name__)

TENANTS_PARTITIONS = "tenants"


def register_tenant_partition(tenant_id: uuid.UUID) -> bool:
    """Add the tenant's partition (idempotent) to the instance in DAGSTER_HOME; False when DAGSTER_HOME is unset.

    Without DAGSTER_HOME there is no instance the API may write to; the pipeline registers tenants it finds itself.
    """
    if not os.environ.get("DAGSTER_HOME"):
        log.info("DAGSTER_HOME is not set; tenant partition not registered")
        return False
    from dagster import DagsterInstance  # slow import, only needed here

    with DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(TENANTS_PARTITIONS, [str(tenant_id)])
    return True
