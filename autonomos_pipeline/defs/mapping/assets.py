"""stream_mappings: each tenant stream's active mapping; first mappings and drift repairs happen here."""

import uuid

import dagster as dg
from sqlalchemy import select

from autonomos_pipeline.dcl.mappings import ensure_first_mapping, entity_for_stream, latest_schema
from autonomos_pipeline.dcl.repair import open_drift_events, repair_drift
from autonomos_pipeline.dcl.store import MappingVersionRow, RepairProposal, SchemaSnapshot
from autonomos_pipeline.defs.partitions import tenants
from autonomos_pipeline.defs.raw.assets import CONNECTOR_TYPES
from autonomos_pipeline.defs.resources import ServingStoreResource


def unmapped_streams(serving_store: ServingStoreResource, tenant_id: str) -> list[tuple[uuid.UUID, str]]:
    """Streams that hold an entity but have neither an active mapping nor a pending proposal."""
    with serving_store.session(tenant_id) as s:
        seen = set(s.execute(select(SchemaSnapshot.connection_id, SchemaSnapshot.stream).distinct()).tuples())
        mapped = set(
            s.execute(
                select(MappingVersionRow.connection_id, MappingVersionRow.stream).where(
                    MappingVersionRow.is_active.is_(True)
                )
            ).tuples()
        )
        pending = set(
            s.execute(
                select(RepairProposal.connection_id, RepairProposal.stream).where(RepairProposal.status == "pending")
            ).tuples()
        )
    return sorted((cid, stream) for cid, stream in seen - mapped - pending if entity_for_stream(stream) is not None)


@dg.asset(
    partitions_def=tenants,
    group_name="mapping",
    kinds={"python"},
    deps=[f"raw_{t}" for t in CONNECTOR_TYPES],
    description="The active mapping of every stream of the tenant: first mappings from the engine, drift repaired.",
)
def stream_mappings(context: dg.AssetExecutionContext, serving_store: ServingStoreResource) -> dg.MaterializeResult:
    """Give new streams their first mapping and repair every open drift event of the tenant."""
    tenant_id = context.partition_key
    engine = serving_store.engine
    first = []
    for connection_id, stream in unmapped_streams(serving_store, tenant_id):
        with serving_store.session(tenant_id) as s:
            schema = latest_schema(s, connection_id, stream)
        if schema is not None:
            outcome = ensure_first_mapping(engine, tenant_id, connection_id, stream, schema)
            first.append({"stream": stream, "entity": outcome.entity, "version": outcome.version,
                          "proposal_id": str(outcome.proposal_id) if outcome.proposal_id else None})  # fmt: skip
    repairs = []
    for event_id in open_drift_events(engine, tenant_id):
        result = repair_drift(engine, tenant_id, event_id)
        if result is not None:
            verdict = f"repaired as version {result.mapping_version}" if result.applied else "awaiting review"
            context.log.info(f"drift {event_id}: {verdict}")
            repairs.append({"drift_event_id": str(event_id), "applied": result.applied,
                            "mapping_version": result.mapping_version, "confidence": result.confidence,
                            "proposal_id": str(result.proposal_id) if result.proposal_id else None})  # fmt: skip
    with serving_store.session(tenant_id) as s:
        active = s.scalars(select(MappingVersionRow).where(MappingVersionRow.is_active.is_(True))).all()
        versions = {f"{v.connection_id}/{v.stream}": v.version for v in active}
        pending = s.scalar(select(RepairProposal.id).where(RepairProposal.status == "pending").limit(1))
    return dg.MaterializeResult(
        metadata={
            "active_versions": dg.MetadataValue.json(versions),
            "first_mappings": dg.MetadataValue.json(first),
            "repairs": dg.MetadataValue.json(repairs),
            "repairs_applied": dg.MetadataValue.int(sum(1 for r in repairs if r["applied"])),
            "awaiting_review": dg.MetadataValue.bool(pending is not None),
        }
    )
