"""connection_refresh_sensor requests each tenant's raw assets on its connections' interval, keyed deterministically."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from autonomos_pipeline.dcl.store import Connection, tenant_session
from autonomos_pipeline.defs.automation.sensors import connection_refresh_sensor, due_refreshes
from autonomos_pipeline.defs.resources import ServingStoreResource
from tests.utils.stores import Store, make_connection, make_tenant


def test_due_refreshes_respects_intervals() -> None:
    intervals = {("t1", "filesource"): 5, ("t2", "supabase"): 60}
    assert due_refreshes(intervals, {}, now=10_000.0) == [("t1", "filesource"), ("t2", "supabase")]
    last = {"t1:filesource": 10_000.0, "t2:supabase": 10_000.0}
    assert due_refreshes(intervals, last, now=10_000.0 + 5 * 60) == [("t1", "filesource")]


def test_sensor_requests_each_tenant_partition_once_per_interval(sqlite_store: Store, tmp_path: Path) -> None:
    a = make_tenant(sqlite_store, "A")
    b = make_tenant(sqlite_store, "B")
    make_connection(sqlite_store, a, config={"path": str(tmp_path)})
    cid = make_connection(sqlite_store, b, name="db", type_="supabase", config={"url": "postgresql://x@127.0.0.1/db"})
    with tenant_session(b, sqlite_store.app_engine) as s:
        conn = s.get(Connection, cid)
        assert conn is not None
        conn.refresh_interval_minutes = 15
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [str(a), str(b)])
        resources = {"serving_store": ServingStoreResource(database_url=sqlite_store.app_url)}
        first = connection_refresh_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        assert isinstance(first, dg.SensorResult)
        requested = {(r.partition_key, tuple(k.to_user_string() for k in r.asset_selection or [])) for r in
                     first.run_requests or []}  # fmt: skip
        assert requested == {(str(a), ("raw_filesource",)), (str(b), ("raw_supabase",))}
        second = connection_refresh_sensor(
            dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        )
        assert isinstance(second, dg.SensorResult) and not second.run_requests
