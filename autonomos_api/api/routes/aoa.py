"""Runs of the tenant's pipeline through Dagster's GraphQL API: launch, state and freshness, reset."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from autonomos_api.api.deps import AdminUser, CurrentUser, MemberUser, SessionDep, SettingsDep
from autonomos_api.core.errors import APIError
from autonomos_api.models.runs import (
    AssetStatePublic,
    PipelineState,
    ResetRequest,
    ResetResult,
    RunLaunched,
    RunPublic,
)
from autonomos_api.services.reset import KEPT, clear_rows, delete_warehouse
from autonomos_api.services.runs import (
    ACTIVE_STATUSES,
    AssetState,
    DagsterClient,
    DagsterUnavailableError,
    RunInfo,
    launch_tenant_run,
    run_active,
    unavailable,
)
from autonomos_pipeline.dcl.store import Tenant
from autonomos_pipeline.dcl.view_cache import bump_data_version

router = APIRouter(prefix="/aoa", tags=["runs"])

_DAGSTER_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"description": "Dagster is not configured or cannot be reached"}
}


def get_dagster(settings: SettingsDep) -> Iterator[DagsterClient]:
    """A client of the configured Dagster webserver; 503 when none is configured."""
    if not settings.dagster_graphql_url:
        raise unavailable("Dagster is not configured (set AUTONOMOS_DAGSTER_GRAPHQL_URL)")
    client = DagsterClient(settings.dagster_graphql_url)
    try:
        yield client
    except DagsterUnavailableError as exc:
        raise unavailable(str(exc)) from None
    finally:
        client.close()


_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "a run of the tenant is active"}, **_DAGSTER_DOWN}
DagsterDep = Annotated[DagsterClient, Depends(get_dagster)]


def _moment(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _run(run: RunInfo) -> RunPublic:
    return RunPublic(
        run_id=run.run_id,
        status=run.status,
        job_name=run.job_name,
        created_at=_moment(run.created_at),
        started_at=_moment(run.started_at),
        ended_at=_moment(run.ended_at),
        trigger=run.tags.get("autonomos/trigger"),
    )


def _status(asset: AssetState) -> str:
    if asset.latest_run_status == "QUEUED":
        return "queued"
    if asset.latest_run_status in ACTIVE_STATUSES:
        return "running"
    if asset.latest_run_status == "FAILURE" and asset.latest_run_id != asset.last_materialization_run_id:
        return "failed"
    return "materialized" if asset.last_materialized_at is not None else "never_materialized"


def _asset(asset: AssetState, now: float) -> AssetStatePublic:
    return AssetStatePublic(
        asset_key=asset.asset_key,
        group=asset.group,
        status=_status(asset),
        last_materialized_at=_moment(asset.last_materialized_at),
        age_seconds=round(now - asset.last_materialized_at, 3) if asset.last_materialized_at is not None else None,
        last_materialization_run_id=asset.last_materialization_run_id,
        latest_run_id=asset.latest_run_id,
        latest_run_status=asset.latest_run_status,
    )


@router.post(
    "/run",
    response_model=RunLaunched,
    status_code=202,
    responses=_CONFLICT,
)
def launch_run(user: MemberUser, dagster: DagsterDep) -> RunLaunched:
    """Launch a run of every asset for the tenant's partition; 409 with the run's id while one is queued or running."""
    tags = {"autonomos/trigger": "api", "autonomos/requested_by": str(user.id)}
    try:
        run = launch_tenant_run(dagster, str(user.tenant_id), tags)
    except DagsterUnavailableError as exc:
        raise unavailable(str(exc)) from None
    return RunLaunched(run_id=run.run_id, status=run.status, job_name=run.job_name)


@router.get("/state", response_model=PipelineState, responses=_DAGSTER_DOWN)
def pipeline_state(user: CurrentUser, dagster: DagsterDep) -> PipelineState:
    """The tenant's recent runs and each asset's status and freshness for its partition."""
    tenant = str(user.tenant_id)
    try:
        runs = dagster.runs(tenant, limit=20)
        assets = dagster.asset_states(tenant)
    except DagsterUnavailableError as exc:
        raise unavailable(str(exc)) from None
    active = next((r.run_id for r in runs if r.status in ACTIVE_STATUSES), None)
    now = time.time()
    return PipelineState(active_run_id=active, runs=[_run(r) for r in runs], assets=[_asset(a, now) for a in assets])


@router.post("/reset", response_model=ResetResult, responses=_CONFLICT)
def reset_pipeline(
    body: ResetRequest, user: AdminUser, session: SessionDep, settings: SettingsDep, dagster: DagsterDep
) -> ResetResult:
    """Clear the tenant's pipeline state (warehouse, served rows, cursors, snapshots, quarantine, drift); admin only."""
    tenant = session.get(Tenant, user.tenant_id)
    if tenant is None or body.confirm != tenant.name:
        raise APIError(
            422,
            "confirmation_mismatch",
            "confirm must be the tenant's exact name",
            errors=[{"field": "confirm", "message": "does not match the tenant's name"}],
        )
    try:
        active = dagster.active_run(str(user.tenant_id))
        if active is not None:
            raise run_active(active)
        assets = [a.asset_key for a in dagster.asset_states(str(user.tenant_id))]
    except DagsterUnavailableError as exc:
        raise unavailable(str(exc)) from None
    cleared = clear_rows(session, user.tenant_id)
    session.commit()
    bump_data_version(user.tenant_id)
    deleted = delete_warehouse(settings, user.tenant_id)
    try:
        wiped = dagster.wipe_partition(str(user.tenant_id), assets)
    except DagsterUnavailableError:
        wiped = False
    return ResetResult(cleared_rows=cleared, warehouse_deleted=deleted, dagster_history_wiped=wiped, kept=list(KEPT))
