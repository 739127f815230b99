"""canonical_<entity> assets with their reconciliation, required-field and unique-id checks."""

import dagster as dg

from autonomos_pipeline.dcl.canonicalize import canonical_table, canonicalize_entity, reconcile
from autonomos_pipeline.dcl.events import publish
from autonomos_pipeline.defs.automation.conditions import follows_upstream
from autonomos_pipeline.defs.partitions import tenants
from autonomos_pipeline.defs.raw.assets import CONNECTOR_TYPES
from autonomos_pipeline.defs.resources import ServingStoreResource, WarehouseResource
from schemas import required_fields
from schemas.canonical import ID_FIELDS

ENTITY_ASSETS = {
    "account": "canonical_accounts",
    "opportunity": "canonical_opportunities",
    "contact": "canonical_contacts",
}


def build_canonical_asset(entity: str) -> dg.AssetsDefinition:
    """The canonical asset of one entity."""
    name = ENTITY_ASSETS[entity]

    @dg.asset(
        name=name,
        partitions_def=tenants,
        group_name="canonical",
        kinds={"duckdb", "python"},
        deps=[*(f"raw_{t}" for t in CONNECTOR_TYPES), "stream_mappings"],
        automation_condition=follows_upstream,
        description=f"The tenant's {entity} records under their active mapping; invalid rows go to quarantine.",
        check_specs=[
            dg.AssetCheckSpec("reconciles", asset=name, description="read = canonical + quarantined for every batch"),
            dg.AssetCheckSpec(
                "required_fields", asset=name, blocking=True, description="no canonical row lacks a required field"
            ),
            dg.AssetCheckSpec("unique_ids", asset=name, blocking=True, description="an id appears once per batch"),
        ],
    )
    def _canonical(
        context: dg.AssetExecutionContext, serving_store: ServingStoreResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        tenant_id = context.partition_key
        with warehouse.connect(tenant_id) as con:
            results = canonicalize_entity(con, serving_store.engine, tenant_id, entity)
            unreconciled = reconcile(con, entity)
            table = canonical_table(entity)
            null_required = con.execute(
                f"SELECT count(*) FROM {table} WHERE NOT is_deleted AND ("
                + " OR ".join(f'"{f}" IS NULL' for f in required_fields(entity))
                + ")"
            ).fetchone()
            duplicates = con.execute(
                f'SELECT count(*) FROM (SELECT batch_id, connection_id, "{ID_FIELDS[entity]}" FROM {table} '
                f"GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()
            total = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts = {
            "read": sum(r.read for r in results),
            "canonical": sum(r.canonical for r in results),
            "quarantined": sum(r.quarantined for r in results),
        }
        reasons: dict[str, int] = {}
        for r in results:
            for k, v in r.reasons.items():
                reasons[k] = reasons.get(k, 0) + v
        with serving_store.session(tenant_id) as s:
            publish(s, tenant_id, "canonicalized", {"entity": entity, **counts, "reasons": reasons})
        return dg.MaterializeResult(
            metadata={
                **{k: dg.MetadataValue.int(v) for k, v in counts.items()},
                "rows": dg.MetadataValue.int(counts["canonical"]),
                "total_rows": dg.MetadataValue.int(int(total[0]) if total else 0),
                "quarantine_reasons": dg.MetadataValue.json(reasons),
                "streams": dg.MetadataValue.json(
                    [
                        {
                            "connection_id": r.connection_id,
                            "stream": r.stream,
                            "mapping_version": r.mapping_version,
                            "read": r.read,
                            "canonical": r.canonical,
                            "quarantined": r.quarantined,
                            "waiting_for_review": r.waiting_for_review,
                        }
                        for r in results
                    ]
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="reconciles",
                    passed=not unreconciled,
                    metadata={"unreconciled_batches": dg.MetadataValue.json(unreconciled)},
                ),
                dg.AssetCheckResult(
                    check_name="required_fields",
                    passed=(null_required or (0,))[0] == 0,
                    metadata={"rows_missing_required": int((null_required or (0,))[0])},
                ),
                dg.AssetCheckResult(
                    check_name="unique_ids",
                    passed=(duplicates or (0,))[0] == 0,
                    metadata={"duplicate_ids": int((duplicates or (0,))[0])},
                ),
            ],
        )

    return _canonical


canonical_accounts = build_canonical_asset("account")
canonical_opportunities = build_canonical_asset("opportunity")
canonical_contacts = build_canonical_asset("contact")
