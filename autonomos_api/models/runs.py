"""Run shapes: a launched run, a tenant's runs and asset freshness, and the reset confirmation and its outcome."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RunLaunched(BaseModel):
    """A run of the tenant's pipeline that Dagster accepted."""

    run_id: str
    status: str = Field(description="Dagster run status at launch, e.g. QUEUED")
    job_name: str


class RunPublic(BaseModel):
    """One Dagster run of the tenant's partition."""

    run_id: str
    status: str
    job_name: str
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    trigger: str | None = Field(description="who asked for it: api, drift_sensor, refresh, ... (from run tags)")


class AssetStatePublic(BaseModel):
    """One pipeline asset for the tenant's partition: status and freshness."""

    asset_key: str
    group: str
    status: str = Field(description="queued, running, failed, materialized or never_materialized")
    last_materialized_at: datetime | None
    age_seconds: float | None = Field(description="seconds since the last materialization")
    last_materialization_run_id: str | None
    latest_run_id: str | None
    latest_run_status: str | None


class PipelineState(BaseModel):
    """The tenant's recent runs (newest first), its active run, and every asset's status and freshness."""

    active_run_id: str | None
    runs: list[RunPublic]
    assets: list[AssetStatePublic]


class ResetRequest(BaseModel):
    """Explicit confirmation: the tenant's exact name."""

    confirm: str = Field(max_length=200, description="the tenant's name, exactly as registered")


class ResetResult(BaseModel):
    """What a reset removed and what it kept."""

    cleared_rows: dict[str, int] = Field(description="rows deleted per serving-store table")
    warehouse_deleted: bool = Field(description="whether a DuckDB warehouse file existed and was deleted")
    dagster_history_wiped: bool = Field(description="whether Dagster forgot the partition's materializations")
    kept: list[str]
