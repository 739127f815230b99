"""The repository's dagster.yaml on PostgreSQL, with a real webserver and daemon: one active run per tenant."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter
from dagster_graphql import DagsterGraphQLClient

from tests.utils.processes import free_port, pg_database, pg_url, process, wait_for_location

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "run_queue_test"
JOB = "tenant_hold_job"
PG_HOST = os.environ.get("AUTONOMOS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("AUTONOMOS_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("AUTONOMOS_TEST_PG_USER", "postgres")
ACTIVE = {DagsterRunStatus.STARTING, DagsterRunStatus.STARTED}
TERMINAL = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
DEADLINE_SECONDS = 180.0  # a loaded CI machine (two test workers) starts processes slowly

WORKSPACE_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


@contextmanager
def _pg_database() -> Iterator[str]:
    """A fresh database for the Dagster instance, dropped afterwards; yields its URL."""
    with pg_database("autonomos_runq") as name:
        yield pg_url(name)


def _write_home(home: Path) -> None:
    """DAGSTER_HOME holding the repository's dagster.yaml (loaded and written back unchanged) and a workspace."""
    home.mkdir()
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    workspace = {
        "load_from": [
            {
                "python_file": {
                    "relative_path": str(Path(__file__).with_name("run_queue_location.py")),
                    "location_name": LOCATION,
                    "working_directory": str(REPO),
                }
            }
        ]
    }
    (home / "workspace.yaml").write_text(yaml.safe_dump(workspace))


def _records(instance: DagsterInstance, run_ids: dict[str, str]) -> dict[str, RunRecord]:
    records = instance.get_run_records(RunsFilter(run_ids=list(run_ids.values())))
    by_id = {r.dagster_run.run_id: r for r in records}
    return {label: by_id[run_id] for label, run_id in run_ids.items()}


@pytest.mark.slow
@pytest.mark.postgres
def test_second_run_of_a_tenant_waits_while_another_tenant_proceeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    home = tmp_path / "dagster_home"
    _write_home(home)
    port = free_port()
    with ExitStack() as stack:
        pg_url = stack.enter_context(_pg_database())
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        monkeypatch.setenv("AUTONOMOS_DAGSTER_PG_URL", pg_url)
        instance = stack.enter_context(DagsterInstance.get())
        instance.add_dynamic_partitions("tenants", ["A", "B"])
        env = {**os.environ, "DAGSTER_HOME": str(home), "AUTONOMOS_DAGSTER_PG_URL": pg_url}
        workspace = str(home / "workspace.yaml")
        webserver = stack.enter_context(
            process(
                [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
                env,
                tmp_path / "webserver.log",
            )
        )
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", workspace]
        stack.enter_context(process(daemon, env, tmp_path / "daemon.log"))
        wait_for_location(port, LOCATION, webserver, deadline)

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_ids = {
            label: client.submit_job_execution(
                JOB,
                repository_location_name=LOCATION,
                repository_name="__repository__",
                tags={"dagster/partition": tenant},
            )
            for label, tenant in (("A1", "A"), ("A2", "A"), ("B", "B"))
        }

        seen_a1_running_a2_queued_b_running = False
        while time.monotonic() < deadline:
            records = _records(instance, run_ids)
            status = {label: r.dagster_run.status for label, r in records.items()}
            assert not (status["A1"] in ACTIVE and status["A2"] in ACTIVE), f"two active runs of tenant A: {status}"
            if (
                status["A1"] == DagsterRunStatus.STARTED
                and status["A2"] == DagsterRunStatus.QUEUED
                and status["B"] in {DagsterRunStatus.STARTED, DagsterRunStatus.SUCCESS}
            ):
                seen_a1_running_a2_queued_b_running = True
            if all(s in TERMINAL for s in status.values()):
                break
            time.sleep(0.25)
        else:
            pytest.fail(f"runs did not finish in {DEADLINE_SECONDS:.0f} s: {status}")

        assert status == dict.fromkeys(run_ids, DagsterRunStatus.SUCCESS)
        assert seen_a1_running_a2_queued_b_running, "never saw A1 running with A2 queued and B running alongside"
        a1, a2, b = records["A1"], records["A2"], records["B"]
        assert a1.start_time is not None and a1.end_time is not None
        assert a2.start_time is not None and b.start_time is not None
        assert a2.start_time >= a1.end_time, "tenant A's second run started before its first finished"
        assert b.start_time < a1.end_time, "tenant B's run waited for tenant A"
        assert instance.get_materialized_partitions(AssetKey("tenant_hold")) == {"A", "B"}
