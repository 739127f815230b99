"""materialized_<entity> assets: idempotent upserts of canonical rows into the serving store."""

import dagster as dg
from sqlalchemy import func, select

from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.dcl.serve import live_record_count, materialize_entity
from autonomos_pipeline.dcl.store import MATERIALIZED_MODELS, Connection
from autonomos_pipeline.defs.automation.conditions import follows_upstream
from autonomos_pipeline.defs.canonical.assets import ENTITY_ASSETS
from autonomos_pipeline.defs.partitions import tenants
from autonomos_pipeline.defs.resources import ServingStoreResource, WarehouseResource

MATERIALIZED_ASSETS = {
    "account": "materialized_accounts",
    "opportunity": "materialized_opportunities",
    "contact": "materialized_contacts",
}


def build_materialized_asset(entity: str) -> dg.AssetsDefinition:
    """The materialized asset of one entity."""
    name = MATERIALIZED_ASSETS[entity]
    model = MATERIALIZED_MODELS[entity]

    @dg.asset(
        name=name,
        partitions_def=tenants,
        group_name="materialized",
        kinds={"postgres", "sqlalchemy"},
        deps=[ENTITY_ASSETS[entity]],
        automation_condition=follows_upstream,
        description=f"The serving table {name}: the latest canonical version of each {entity}, with lineage.",
        check_specs=[
            dg.AssetCheckSpec(
                "no_rows_lost", asset=name, description="served rows = live canonical records, no more, no less"
            )
        ],
    )
    def _materialized(
        context: dg.AssetExecutionContext, serving_store: ServingStoreResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        tenant_id = context.partition_key
        with serving_store.session(tenant_id) as s:
            systems = {str(c.id): c.type for c in s.scalars(select(Connection))}
        with warehouse.connect(tenant_id) as con:
            report = materialize_entity(con, serving_store.engine, tenant_id, entity, systems)
            expected = live_record_count(con, entity)
        with serving_store.session(tenant_id) as s:
            served = s.scalar(select(func.count()).select_from(model).where(model.is_deleted.is_(False))) or 0
            publish(
                s,
                tenant_id,
                "materialized",
                {"entity": entity, "table": name, "upserted": report.upserted, "deleted": report.deleted,
                 "served": served},
            )  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(report.upserted),
                "deleted": dg.MetadataValue.int(report.deleted),
                "batches": dg.MetadataValue.int(report.batches),
                "served_rows": dg.MetadataValue.int(served),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_rows_lost",
                    passed=served == expected,
                    metadata={"served_rows": int(served), "live_canonical_records": expected},
                )
            ],
        )

    return _materialized


materialized_accounts = build_materialized_asset("account")
materialized_opportunities = build_materialized_asset("opportunity")
materialized_contacts = build_materialized_asset("contact")
