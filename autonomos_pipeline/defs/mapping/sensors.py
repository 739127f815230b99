"""drift_sensor and repair_job: drift, new streams and mapping activations re-map and re-materialize a tenant."""

import json
from datetime import datetime

import dagster as dg
from sqlalchemy import select

from autonomos_pipeline.dcl.store import DriftEvent, MappingVersionRow
from autonomos_pipeline.defs.mapping.assets import unmapped_streams
from autonomos_pipeline.defs.partitions import tenants
from autonomos_pipeline.defs.resources import ServingStoreResource

repair_job = dg.define_asset_job(
    "repair_job",
    selection=dg.AssetSelection.assets("stream_mappings").downstream(),
    partitions_def=tenants,
    description="Re-map a tenant's drifted or new streams, then re-canonicalize and re-materialize them.",
)


def _made_by_the_loop(author: str, created_at: datetime | None, activated_at: datetime) -> bool:
    """A version the engine created and activated at once (a first mapping or an auto repair): the run that made it
    re-materializes the tenant itself. Approvals (a person) and rollbacks (activated later) need a run of their own."""
    return author == "engine" and created_at == activated_at


@dg.sensor(
    name="drift_sensor",
    job=repair_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches repair_job for a tenant on drift, on a new stream, or when a mapping version is activated.",
)
def drift_sensor(context: dg.SensorEvaluationContext, serving_store: ServingStoreResource) -> dg.SensorResult:
    """One run per drift event, new stream set or activation (deterministic run keys); last activation in the cursor."""
    state: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests: list[dg.RunRequest] = []
    for tenant in context.instance.get_dynamic_partitions("tenants"):
        with serving_store.session(tenant) as s:
            drift = s.scalars(select(DriftEvent.id).where(DriftEvent.status == "open")).all()
            since = datetime.fromisoformat(state[tenant]) if tenant in state else None
            query = select(
                MappingVersionRow.id,
                MappingVersionRow.activated_at,
                MappingVersionRow.created_at,
                MappingVersionRow.author,
            ).where(MappingVersionRow.activated_at.is_not(None))
            activations = [
                (vid, at, _made_by_the_loop(author, created, at))
                for vid, at, created, author in s.execute(query).tuples()
                if at and (since is None or at > since)
            ]
        keys = [f"drift:{event_id}" for event_id in drift]
        new_streams = unmapped_streams(serving_store, tenant)
        if new_streams:
            keys.append("new:" + ",".join(f"{cid}/{stream}" for cid, stream in new_streams))
        if since is not None:
            keys += [f"activate:{vid}:{at.isoformat()}" for vid, at, own in activations if not own]
        if activations:
            state[tenant] = max(at for _, at, _ in activations).isoformat()
        if keys:
            requests.append(
                dg.RunRequest(
                    run_key=f"repair:{tenant}:" + "|".join(sorted(keys)),
                    partition_key=tenant,
                    tags={"autonomos/trigger": "drift_sensor"},
                )
            )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(state))
