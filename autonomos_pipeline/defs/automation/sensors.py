"""automation_sensor (Declarative Automation, on by default) and connection_refresh_sensor (per-connection interval)."""

import json
import time
from collections import defaultdict

import dagster as dg
from sqlalchemy import select

from autonomos_pipeline.dcl.store import Connection
from autonomos_pipeline.defs.resources import ServingStoreResource

automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.groups("canonical", "materialized"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Re-runs canonical and materialized assets of a tenant as soon as its raw assets update.",
)


def due_refreshes(
    intervals: dict[tuple[str, str], int], last_requested: dict[str, float], now: float
) -> list[tuple[str, str]]:
    """(tenant, connector type) pairs whose shortest connection interval has elapsed since the last request."""
    return [
        (tenant, kind)
        for (tenant, kind), minutes in sorted(intervals.items())
        if now - last_requested.get(f"{tenant}:{kind}", 0.0) >= minutes * 60
    ]


@dg.sensor(
    name="connection_refresh_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=dg.AssetSelection.groups("raw"),
    description="Re-reads each tenant's sources on the shortest refresh interval of its connections of that type.",
)
def connection_refresh_sensor(
    context: dg.SensorEvaluationContext, serving_store: ServingStoreResource
) -> dg.SensorResult:
    """Request raw_<type> for a tenant partition when its refresh interval has elapsed (state in the cursor)."""
    last: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    intervals: dict[tuple[str, str], int] = defaultdict(lambda: 10**9)
    for tenant in context.instance.get_dynamic_partitions("tenants"):
        with serving_store.session(tenant) as s:
            for conn in s.scalars(select(Connection).where(Connection.is_active.is_(True))):
                key = (tenant, conn.type)
                intervals[key] = min(intervals[key], max(1, conn.refresh_interval_minutes))
    now = time.time()
    requests = []
    for tenant, kind in due_refreshes(dict(intervals), last, now):
        last[f"{tenant}:{kind}"] = now
        requests.append(
            dg.RunRequest(
                run_key=f"refresh:{tenant}:{kind}:{int(now // 60)}",
                asset_selection=[dg.AssetKey(f"raw_{kind}")],
                partition_key=tenant,
                tags={"autonomos/trigger": "refresh"},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(last))
