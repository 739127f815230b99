"""Tenant runs through Dagster's GraphQL API: launch tenant_job for a partition, find active runs, asset freshness."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import httpx

from autonomos_api.core.errors import APIError

log = logging.getLogger(__name__)

TENANT_JOB = "tenant_job"
TENANTS_PARTITIONS = "tenants"
PARTITION_TAG = "dagster/partition"
ACTIVE_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
RUN_FIELDS = "runId status jobName creationTime startTime endTime tags { key value }"

_REPOSITORIES = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
  ... on Error { message } } }
"""
_RUNS = f"""
query Runs($filter: RunsFilter, $limit: Int) {{
  runsOrError(filter: $filter, limit: $limit) {{
    __typename ... on Runs {{ results {{ {RUN_FIELDS} }} }} ... on Error {{ message }}
  }}
}}
"""
_ADD_PARTITION = """
mutation Add($key: String!, $name: String!, $repo: RepositorySelector!) {
  addDynamicPartition(partitionKey: $key, partitionsDefName: $name, repositorySelector: $repo) {
    __typename ... on Error { message }
  }
}
"""
_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId status } } ... on Error { message }
  }
}
"""
_ASSETS = """
query Assets($partition: String!) {
  assetNodes {
    assetKey { path } groupName isPartitioned partitionDefinition { name }
    latestMaterializationByPartition(partitions: [$partition]) { timestamp runId }
    latestRunForPartition(partition: $partition) { runId status }
  }
}
"""
_WIPE = """
mutation Wipe($ranges: [PartitionsByAssetSelector!]!) {
  wipeAssets(assetPartitionRanges: $ranges) { __typename ... on Error { message } }
}
"""

_launch_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


class DagsterUnavailableError(Exception):
    """Dagster's GraphQL API cannot be reached or answered with an error."""


def unavailable(reason: str) -> APIError:
    """The 503 of an unreachable or unconfigured orchestrator."""
    return APIError(503, "dagster_unavailable", reason, headers={"Retry-After": "5"})


@dataclass(frozen=True)
class RunInfo:
    """One Dagster run of a tenant."""

    run_id: str
    status: str
    job_name: str
    created_at: float | None
    started_at: float | None
    ended_at: float | None
    tags: dict[str, str]

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> RunInfo:
        """Build from a GraphQL Run node."""
        return cls(
            run_id=node["runId"],
            status=node["status"],
            job_name=node["jobName"],
            created_at=node.get("creationTime"),
            started_at=node.get("startTime"),
            ended_at=node.get("endTime"),
            tags={t["key"]: t["value"] for t in node.get("tags") or []},
        )


@dataclass(frozen=True)
class AssetState:
    """One tenant-partitioned asset's latest materialization and latest run for the tenant's partition."""

    asset_key: str
    group: str
    last_materialized_at: float | None
    last_materialization_run_id: str | None
    latest_run_id: str | None
    latest_run_status: str | None


class DagsterClient:
    """A small client of the Dagster webserver's GraphQL endpoint (tests can inject an httpx transport)."""

    def __init__(self, url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._http.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL request; DagsterUnavailableError on transport, HTTP or GraphQL errors."""
        try:
            resp = self._http.post(self.url, json={"query": query, "variables": variables or {}})
        except httpx.HTTPError as exc:
            raise DagsterUnavailableError(f"Dagster is unreachable ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise DagsterUnavailableError(f"Dagster answered HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise DagsterUnavailableError("Dagster answered with something that is not JSON") from None
        if body.get("errors") or not isinstance(body.get("data"), dict):
            messages = "; ".join(str(e.get("message", e))[:200] for e in body.get("errors") or [])
            raise DagsterUnavailableError(f"Dagster's GraphQL API refused the request: {messages or 'no data'}")
        data: dict[str, Any] = body["data"]
        return data

    def repository_of(self, job: str = TENANT_JOB) -> dict[str, str]:
        """The repository selector of the code location that defines `job`."""
        result = self.execute(_REPOSITORIES)["repositoriesOrError"]
        if result["__typename"] != "RepositoryConnection":
            raise DagsterUnavailableError(f"Dagster cannot list its code locations: {result.get('message', '')}")
        for repo in result["nodes"]:
            if any(j["name"] == job for j in repo["jobs"]):
                return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}
        raise DagsterUnavailableError(f"no loaded Dagster code location defines {job}")

    def runs(self, tenant_id: str, *, statuses: tuple[str, ...] = (), limit: int = 20) -> list[RunInfo]:
        """The tenant's runs (those tagged with its partition), newest first."""
        run_filter: dict[str, Any] = {"tags": [{"key": PARTITION_TAG, "value": tenant_id}]}
        if statuses:
            run_filter["statuses"] = list(statuses)
        result = self.execute(_RUNS, {"filter": run_filter, "limit": limit})["runsOrError"]
        if result["__typename"] != "Runs":
            raise DagsterUnavailableError(f"Dagster cannot list runs: {result.get('message', '')}")
        return [RunInfo.from_graphql(node) for node in result["results"]]

    def active_run(self, tenant_id: str) -> RunInfo | None:
        """The tenant's queued or running run, if any."""
        active = self.runs(tenant_id, statuses=ACTIVE_STATUSES, limit=1)
        return active[0] if active else None

    def launch(self, tenant_id: str, tags: dict[str, str]) -> RunInfo:
        """Register the tenant's partition (idempotent) and launch tenant_job for it."""
        repo = self.repository_of()
        added = self.execute(_ADD_PARTITION, {"key": tenant_id, "name": TENANTS_PARTITIONS, "repo": repo})
        outcome = added["addDynamicPartition"]
        if outcome["__typename"] not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
            raise DagsterUnavailableError(f"Dagster refused the tenant partition: {outcome.get('message', '')}")
        run_tags = {**tags, PARTITION_TAG: tenant_id}
        params = {
            "selector": {**repo, "jobName": TENANT_JOB},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in run_tags.items()]},
        }
        launched = self.execute(_LAUNCH, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise DagsterUnavailableError(
                f"Dagster did not launch the run: {launched.get('message', launched['__typename'])}"
            )
        run = launched["run"]
        return RunInfo(run["runId"], run["status"], TENANT_JOB, None, None, None, run_tags)

    def asset_states(self, tenant_id: str) -> list[AssetState]:
        """Every tenant-partitioned asset with its latest materialization and run for the tenant's partition."""
        nodes = self.execute(_ASSETS, {"partition": tenant_id})["assetNodes"]
        states = []
        for node in nodes:
            if not node["isPartitioned"] or (node.get("partitionDefinition") or {}).get("name") != TENANTS_PARTITIONS:
                continue
            latest = next(iter(node["latestMaterializationByPartition"] or []), None)
            run = node.get("latestRunForPartition")
            states.append(
                AssetState(
                    asset_key="/".join(node["assetKey"]["path"]),
                    group=node["groupName"],
                    last_materialized_at=int(latest["timestamp"]) / 1000 if latest else None,
                    last_materialization_run_id=latest["runId"] if latest else None,
                    latest_run_id=run["runId"] if run else None,
                    latest_run_status=run["status"] if run else None,
                )
            )
        return sorted(states, key=lambda s: s.asset_key)

    def wipe_partition(self, tenant_id: str, asset_keys: list[str]) -> bool:
        """Forget the tenant partition's materializations of these assets; False when the instance cannot."""
        ranges = [
            {"assetKey": {"path": key.split("/")}, "partitions": {"range": {"start": tenant_id, "end": tenant_id}}}
            for key in asset_keys
        ]
        if not ranges:
            return True
        outcome = self.execute(_WIPE, {"ranges": ranges})["wipeAssets"]
        if outcome["__typename"] != "AssetWipeSuccess":
            log.warning("Dagster did not wipe the tenant's materializations: %s", outcome.get("message", ""))
            return False
        return True


def launch_tenant_run(client: DagsterClient, tenant_id: str, tags: dict[str, str]) -> RunInfo:
    """Launch the tenant's run; 409 (with the run's id) while another of its runs is queued or running.

    Within one API process the check and the launch are serialized per tenant; across processes two simultaneous
    requests could both launch, and the instance's per-tenant run limit (dagster.yaml) then queues the second.
    """
    with _launch_locks[tenant_id]:
        active = client.active_run(tenant_id)
        if active is not None:
            raise run_active(active)
        return client.launch(tenant_id, tags)


def run_active(run: RunInfo) -> APIError:
    """The 409 of a tenant that already has a queued or running run."""
    return APIError(
        409,
        "run_active",
        f"run {run.run_id} of this tenant is {run.status.lower()}",
        run_id=run.run_id,
        run_status=run.status,
    )
