"""raw_<connector> assets: read every connection of that type the tenant has into its DuckDB warehouse."""

from collections.abc import Sequence

import dagster as dg
from sqlalchemy import select

from autonomos_pipeline.dcl.ingest import ConnectionReport, ingest_connection
from autonomos_pipeline.dcl.repair import detect_drift
from autonomos_pipeline.dcl.store import Connection
from autonomos_pipeline.dcl.warehouse import batch_row_counts
from autonomos_pipeline.defs.partitions import tenants
from autonomos_pipeline.defs.resources import ServingStoreResource, WarehouseResource

CONNECTOR_TYPES = ("filesource", "supabase", "salesforce", "mongodb")
MAX_TRANSIENT_RETRIES = 3


def _metadata(reports: list[ConnectionReport]) -> dict[str, dg.MetadataValue]:
    streams = [
        {
            "connection": r.name,
            "stream": s.stream,
            "rows": s.rows,
            "quarantined": s.errors,
            "deleted": s.deleted,
            "fingerprint": s.fingerprint,
            "new_schema": s.new_schema,
        }
        for r in reports
        for s in r.streams
    ]
    return {
        "connections": dg.MetadataValue.int(len(reports)),
        "rows": dg.MetadataValue.int(sum(r.rows for r in reports)),
        "quarantined": dg.MetadataValue.int(sum(r.errors for r in reports)),
        "failed_connections": dg.MetadataValue.json({r.name: r.error for r in reports if r.error}),
        "streams": dg.MetadataValue.json(streams),
        "fingerprints": dg.MetadataValue.json({f"{s['connection']}/{s['stream']}": s["fingerprint"] for s in streams}),
        "columns": dg.MetadataValue.json(
            {f"{r.name}/{s.stream}": s.columns for r in reports for s in r.streams},
        ),
    }


def _detect_drift(
    serving_store: ServingStoreResource,
    tenant_id: str,
    connections: Sequence[Connection],
    reports: list[ConnectionReport],
) -> list[dict[str, object]]:
    """Record drift for every stream whose schema moved away from its active mapping's (events + journal)."""
    by_id = {str(c.id): c for c in connections}
    found: list[dict[str, object]] = []
    for report in reports:
        for stream in report.streams:
            if stream.schema is None:
                continue
            event = detect_drift(serving_store.engine, tenant_id, by_id[report.connection_id].id, stream.schema)
            if event is not None and event.status in ("open", "awaiting_review"):
                found.append(
                    {"connection": report.name, "stream": stream.stream, "severity": event.severity,
                     "drift_event_id": str(event.id), "changes": event.changes}
                )  # fmt: skip
    return found


def build_raw_asset(system: str) -> dg.AssetsDefinition:
    """The raw asset of one connector type."""
    check_name = "batches_complete"

    @dg.asset(
        name=f"raw_{system}",
        partitions_def=tenants,
        group_name="raw",
        kinds={system, "duckdb"},
        description=f"Rows of every {system} connection of the tenant, appended per batch to its DuckDB warehouse.",
        check_specs=[
            dg.AssetCheckSpec(
                check_name,
                asset=f"raw_{system}",
                description="every batch written holds exactly the rows the connector delivered",
            ),
            dg.AssetCheckSpec(
                "schema_drift",
                asset=f"raw_{system}",
                description="each stream's schema matches the one its active mapping was made for",
            ),
        ],
    )
    def _raw(
        context: dg.AssetExecutionContext, serving_store: ServingStoreResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        tenant_id = context.partition_key
        with serving_store.session(tenant_id) as s:
            connections = s.scalars(
                select(Connection).where(Connection.type == system, Connection.is_active.is_(True))
            ).all()
        reports: list[ConnectionReport] = []
        with warehouse.connect(tenant_id) as con:
            for connection in connections:
                context.log.info(f"reading {system} connection {connection.name!r}")
                reports.append(
                    ingest_connection(tenant_id=tenant_id, connection=connection, engine=serving_store.engine, con=con)
                )
            counts = batch_row_counts(con, [b for r in reports for s in r.streams for b in s.batch_ids])
        transient = [r for r in reports if r.error and r.transient]
        terminal = [r for r in reports if r.error and not r.transient]
        if transient and context.retry_number < MAX_TRANSIENT_RETRIES:
            raise dg.RetryRequested(max_retries=MAX_TRANSIENT_RETRIES, seconds_to_wait=2 ** (context.retry_number + 1))
        if transient or terminal:
            reasons = "; ".join(f"{r.name}: {r.error}" for r in transient + terminal)
            raise dg.Failure(description=f"{len(transient + terminal)} {system} connection(s) failed: {reasons}")
        mismatched = {bid: c for bid, c in counts.items() if c[0] != c[1]}
        drift = _detect_drift(serving_store, tenant_id, connections, reports)
        return dg.MaterializeResult(
            metadata=_metadata(reports),
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name,
                    passed=not mismatched,
                    metadata={"batches": len(counts), "mismatched": dg.MetadataValue.json(mismatched)},
                ),
                dg.AssetCheckResult(
                    check_name="schema_drift",
                    passed=not drift,
                    severity=(
                        dg.AssetCheckSeverity.ERROR
                        if any(d["severity"] in ("critical", "high") for d in drift)
                        else dg.AssetCheckSeverity.WARN
                    ),
                    metadata={"drift": dg.MetadataValue.json(drift)},
                ),
            ],
        )

    return _raw


raw_filesource = build_raw_asset("filesource")
raw_supabase = build_raw_asset("supabase")
raw_salesforce = build_raw_asset("salesforce")
raw_mongodb = build_raw_asset("mongodb")
